"""Checkpoints for `send`: the prefix of the input that is settled (sent or recorded as rejected) and the run
identity it belongs to (mappings digest, inputs and their sizes, flags that change the batches).

Written atomically (temporary file, fsync, rename, fsync of the folder): a crash leaves the old or the new
checkpoint, never a torn one. A checkpoint from a different mappings file or inputs is refused."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .errors import UserError

FORMAT = "ld-segment-checkpoint"
VERSION = 1


@dataclass(frozen=True, slots=True)
class InputFile:
    name: str
    size: int | None  # bytes on disk; None for stdin


@dataclass(frozen=True, slots=True)
class Identity:
    """What must be the same for a checkpoint to apply: a different value would send different events or cut
    different batches (and so different payload IDs)."""

    mappings: str
    mappings_digest: str
    inputs: tuple[InputFile, ...]
    flags: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, mappings: str, digest: str, inputs: Sequence[tuple[str, int | None]],
           flags: dict[str, Any]) -> Identity:
        return cls(mappings, digest, tuple(InputFile(n, s) for n, s in inputs), tuple(sorted(flags.items())))

    def to_json(self) -> dict[str, Any]:
        return {
            "mappings": self.mappings,
            "mappings_sha256": self.mappings_digest,
            "inputs": [{"name": i.name, "size": i.size} for i in self.inputs],
            "flags": dict(self.flags),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Identity:
        return cls(
            str(data["mappings"]),
            str(data["mappings_sha256"]),
            tuple(InputFile(str(i["name"]), i["size"]) for i in data["inputs"]),
            tuple(sorted(dict(data.get("flags") or {}).items())),
        )


def _flag(name: str, value: Any) -> str:
    if value is True:
        return f"--{name}"
    if value is False or value is None:
        return f"no --{name}"
    return f"--{name} {value}"


def mismatch(saved: Identity, current: Identity) -> str | None:
    """Why a saved checkpoint does not belong to this run, in one sentence, or None when it does."""
    if saved.mappings_digest != current.mappings_digest:
        return (f"it was made with a different mappings file ({saved.mappings}, "
                f"sha256 {saved.mappings_digest[:12]}…; this run: {current.mappings}, "
                f"sha256 {current.mappings_digest[:12]}…)")
    saved_names = [i.name for i in saved.inputs]
    names = [i.name for i in current.inputs]
    if saved_names != names:
        gone = [n for n in saved_names if n not in names]
        new = [n for n in names if n not in saved_names]
        what = "; ".join(part for part in (
            f"missing now: {', '.join(gone[:3])}{' …' if len(gone) > 3 else ''}" if gone else "",
            f"new: {', '.join(new[:3])}{' …' if len(new) > 3 else ''}" if new else "",
        ) if part) or "the same files in another order"
        return f"it was made for other inputs ({what})"
    for before, now in zip(saved.inputs, current.inputs, strict=True):
        if before.size != now.size:
            return f"input {now.name} changed since: it was {before.size} bytes, it is {now.size} bytes now"
    saved_flags = dict(saved.flags)
    flags = dict(current.flags)
    for key in sorted(set(saved_flags) | set(flags)):
        if saved_flags.get(key) != flags.get(key):
            before, now = _flag(key, saved_flags.get(key)), _flag(key, flags.get(key))
            return f"it was made with {before} (this run: {now})"
    return None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Every input line up to (source_index, line) is settled; line 0 means none of that source yet."""

    identity: Identity
    source_index: int
    line: int
    complete: bool = False
    rejects_path: str | None = None
    rejects_offset: int = 0  # bytes of the rejects file that describe the settled prefix
    events_sent: int = 0  # events acknowledged, across all runs of this checkpoint
    updated: str = field(default="", compare=False)

    @property
    def where(self) -> str:
        """'file:line' for messages."""
        inputs = self.identity.inputs
        if self.source_index >= len(inputs):
            return "the end of the input"
        name = inputs[self.source_index].name
        if self.line == 0:
            return f"the start of {name}"
        return f"{name}:{self.line}"

    def to_json(self) -> dict[str, Any]:
        inputs = self.identity.inputs
        return {
            "format": FORMAT,
            "version": VERSION,
            "identity": self.identity.to_json(),
            "position": {
                "source_index": self.source_index,
                "source": inputs[self.source_index].name if self.source_index < len(inputs) else None,
                "line": self.line,
            },
            "complete": self.complete,
            "rejects": {"path": self.rejects_path, "offset": self.rejects_offset},
            "events_sent": self.events_sent,
            "updated": self.updated,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        if data.get("format") != FORMAT:
            raise ValueError("not an ld-segment checkpoint")
        if data.get("version") != VERSION:
            raise ValueError(f"checkpoint version {data.get('version')!r}, this tool reads version {VERSION}")
        position = data["position"]
        rejects = data.get("rejects") or {}
        return cls(
            identity=Identity.from_json(data["identity"]),
            source_index=int(position["source_index"]),
            line=int(position["line"]),
            complete=bool(data.get("complete", False)),
            rejects_path=rejects.get("path"),
            rejects_offset=int(rejects.get("offset") or 0),
            events_sent=int(data.get("events_sent") or 0),
            updated=str(data.get("updated") or ""),
        )


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash at any moment leaves either the old or the new content."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself must survive a power cut too
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class CheckpointFile:
    """The --checkpoint FILE of a run."""

    def __init__(self, path: Path | str, rejects_path: str | None = None) -> None:
        self.path = Path(path)
        self.rejects_path = rejects_path

    def load(self) -> Checkpoint | None:
        """The saved checkpoint, or None if there is none. Raises UserError if it cannot be used."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UserError(f"{self.path}: cannot read checkpoint: {exc.strerror or exc}") from None
        try:
            return Checkpoint.from_json(orjson.loads(data))
        except (orjson.JSONDecodeError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{self.path}: not a usable checkpoint ({exc}); use --restart to start over "
                            "(the file will be overwritten)") from None

    def save(self, checkpoint: Checkpoint) -> None:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        record = checkpoint.to_json()
        record["updated"] = now
        try:
            write_atomic(self.path, orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n")
        except OSError as exc:
            raise UserError(f"{self.path}: cannot write checkpoint: {exc.strerror or exc}") from None

    def check_writable(self) -> None:
        """Fail before sending anything if the checkpoint could not be saved later."""
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise UserError(f"--checkpoint {self.path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise UserError(f"--checkpoint {self.path}: folder {folder} is not writable")
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise UserError(f"--checkpoint {self.path}: file is not writable")


def resume_point(file: CheckpointFile, identity: Identity, restart: bool) -> Checkpoint | None:
    """The checkpoint to resume from: None to start at the beginning. A checkpoint of another run is an error
    unless --restart (which starts over and overwrites it)."""
    if restart:
        return None
    saved = file.load()
    if saved is None:
        return None
    reason = mismatch(saved.identity, identity)
    if reason is not None:
        raise UserError(f"{file.path}: this checkpoint belongs to another run: {reason}. Use --restart to "
                        "start over (the checkpoint will be overwritten), or give another --checkpoint file")
    if saved.source_index > len(identity.inputs):
        raise UserError(f"{file.path}: position {saved.source_index}:{saved.line} is past the inputs; "
                        "use --restart")
    return saved
