"""Inputs: files, folders, globs and stdin, plain, gzip or zstd, streamed as (source, line number, raw line).
Owns the expansion of INPUT arguments, compression detection and the byte position used for progress."""

from __future__ import annotations

import glob
import io
import os
import stat
import sys
import zlib
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BOM = b"\xef\xbb\xbf"
READ_BUFFER = 1 << 18
GZIP_PIECE = 1 << 14  # compressed bytes per zlib call (~160 KiB of text)
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Source:
    """One input stream: a path, or `-` for stdin."""

    name: str
    path: Path | None  # None for stdin

    @property
    def size(self) -> int | None:
        """Bytes on disk (compressed size for .gz/.zst); None for stdin."""
        if self.path is None:
            return None
        try:
            return self.path.stat().st_size
        except OSError:
            return None


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank input line with its origin. `raw` excludes the line ending."""

    source: str
    number: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """The rest of a source could not be read (truncated gzip, I/O error); lines before it were delivered."""

    source: str
    number: int  # the line number where reading stopped
    reason: str
    raw: bytes = b""


def _is_glob(arg: str) -> bool:
    return any(c in _GLOB_CHARS for c in arg)


def _folder_files(folder: Path) -> list[Path]:
    files: list[Path] = []
    for root, dirs, names in os.walk(folder, onerror=None):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(root, n) for n in names if not n.startswith("."))
    return sorted(files)


def expand_inputs(args: Sequence[str], *, stdin_is_tty: bool | None = None) -> list[Source]:
    """Turn INPUT arguments into sources, in order; folders recursively in sorted path order.

    No arguments and a non-terminal stdin means stdin. Every explicit argument must exist now:
    a missing file or an empty glob is a usage error (exit 2) before anything is read."""
    if not args:
        tty = sys.stdin.isatty() if stdin_is_tty is None else stdin_is_tty
        if tty:
            raise InputError("no input: give files, folders or globs, or pipe events on stdin (use - for stdin)")
        return [Source("-", None)]
    sources: list[Source] = []
    for arg in args:
        if arg == "-":
            sources.append(Source("-", None))
            continue
        path = Path(arg)
        if path.is_dir():
            sources.extend(Source(str(p), p) for p in _folder_files(path))
        elif path.is_file():
            if not os.access(path, os.R_OK):
                raise InputError(f"{arg}: permission denied")
            sources.append(Source(arg, path))
        elif _is_glob(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                raise InputError(f"{arg}: no file matches this pattern")
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    sources.extend(Source(str(p), p) for p in _folder_files(mp))
                else:
                    sources.append(Source(m, mp))
        elif path.exists():
            raise InputError(f"{arg}: not a regular file or folder")
        else:
            raise InputError(f"{arg}: no such file or folder")
    return sources


class _CountingReader(io.RawIOBase):
    """Wraps the underlying (compressed) stream and counts bytes consumed, for progress and ETA."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(b)  # type: ignore[attr-defined]
        if n:
            self.consumed += n
        return n or 0


def _open_binary(source: Source) -> BinaryIO:
    if source.path is None:
        return sys.stdin.buffer
    return open(source.path, "rb", buffering=0)


def _gunzip_chunks(head: BinaryIO) -> Iterator[bytes]:
    """Decompress every gzip member as data arrives, so a truncated file still yields what it holds. Read in
    small pieces: zlib raises on damage without returning the output of the piece it was given, so the
    piece size bounds what a corrupt member loses before its damage."""
    decomp = zlib.decompressobj(wbits=31)
    started = False
    while True:
        data = head.read(GZIP_PIECE)
        if not data:
            break
        while data:
            started = True
            out = decomp.decompress(data)
            if out:
                yield out
            if decomp.eof:
                data = decomp.unused_data.lstrip(b"\0")  # some writers pad members with zeros
                decomp = zlib.decompressobj(wbits=31)
                started = False
            else:
                data = b""
    if started:
        raise EOFError("the gzip stream ended before its end-of-stream marker")


def _zstd_chunks(head: BinaryIO) -> Iterator[bytes]:
    import zstandard

    reader = zstandard.ZstdDecompressor().stream_reader(head, read_across_frames=True)
    while chunk := reader.read(READ_BUFFER):
        yield chunk


def _plain_chunks(head: BinaryIO) -> Iterator[bytes]:
    while chunk := head.read(READ_BUFFER):
        yield chunk


def _chunks(counting: _CountingReader) -> tuple[Iterator[bytes], str]:
    """Detect the compression from the magic bytes; return decompressed chunks and the kind."""
    head = io.BufferedReader(counting, buffer_size=READ_BUFFER)
    start = head.peek(READ_BUFFER)
    if start.startswith(GZIP_MAGIC) and _starts_valid(start, "gzip"):
        return _gunzip_chunks(head), "gzip"
    if start.startswith(ZSTD_MAGIC) and _starts_valid(start, "zstd"):
        return _zstd_chunks(head), "zstd"
    return _plain_chunks(head), "plain"


def _starts_valid(start: bytes, kind: str) -> bool:
    """Magic bytes alone can be a coincidence (a text file may begin with them): the stream's header must also
    be valid. Only the first 32 bytes are tried, so a file corrupt further on is still read as compressed,
    up to the damage."""
    try:
        if kind == "gzip":
            zlib.decompressobj(wbits=31).decompress(start[:32])
        else:
            import zstandard

            zstandard.ZstdDecompressor().decompressobj().decompress(start[:32])
    except Exception:  # zlib.error, zstandard.ZstdError: not that kind after all
        return False
    return True


class Block:
    """Consecutive lines of one source: lines[i] is line start + i, without its ending (CR removed).
    Blank lines are kept as b"" so that numbering stays implicit; consumers skip them.

    The reader makes a block from its text and splits it on first use of `lines`, so that with --workers a
    worker process does the splitting, not the reader. A block of a plain file also knows where its text
    lies in the file (`span`: path, offset, length): sent to a worker it travels as that span and the worker
    reads the bytes itself, so the input never crosses a pipe."""

    __slots__ = ("_lines", "_span", "_text", "follows", "source", "start")

    def __init__(self, source: str, start: int, lines: list[bytes] | None = None, text: bytes | None = None,
                 span: tuple[str, int, int] | None = None, follows: bool = False) -> None:
        self.source = source
        self.start = start
        self._lines = lines
        self._text = text if lines is None else None
        self._span = span if lines is None else None
        # True for a block whose place in its source was not counted when it was read (a probed span, see
        # read_blocks): its lines are numbered from 1 here and it comes right after the previous block of its
        # source; the parallel collector, which knows how many lines those held, puts it in its place.
        self.follows = follows

    @property
    def lines(self) -> list[bytes]:
        if self._lines is None:
            text = self._text if self._text is not None else _read_span(self._span) if self._span else b""
            lines = text.split(b"\n")
            self._lines, self._text = _without_cr(lines) if b"\r" in text else lines, None
        return self._lines

    def placed(self, start: int) -> Block:
        """This block numbered from `start` (no longer following: see `follows`)."""
        return Block(self.source, start, self._lines, self._text, self._span)

    @property
    def line_count(self) -> int | None:
        """How many lines the block holds, once they were read (None before, or when reading failed)."""
        return len(self._lines) if self._lines is not None else None

    def __reduce__(self) -> tuple[type[Block], tuple[Any, ...]]:
        if self._lines is None and self._span is not None:
            return Block, (self.source, self.start, None, None, self._span, self.follows)
        return Block, (self.source, self.start, self._lines, self._text, None, self.follows)

    def __repr__(self) -> str:
        return f"Block({self.source!r}, {self.start})"


def _without_cr(lines: list[bytes]) -> list[bytes]:
    """Lines without the CR of a CRLF ending."""
    return [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]


def _read_span(span: tuple[str, int, int]) -> bytes:
    """The bytes a block's span names, read again from its file (in a --workers process)."""
    path, offset, length = span
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = []
        while length > 0:
            piece = os.pread(fd, length, offset)
            if not piece:
                raise OSError(f"{path} is shorter than when it was read: it changed during the run")
            parts.append(piece)
            offset += len(piece)
            length -= len(piece)
    finally:
        os.close(fd)
    return b"".join(parts)


DEFAULT_MAX_LINE_BYTES = 64 << 20
KEEP_OF_LONG_LINE = 1024  # bytes of an over-long line kept in its reject record
PROBE_BYTES = 1 << 16  # how far past a block's nominal end a probed span looks for the newline that ends it
PROBED_MIN_LINE_BYTES = 1 << 20  # a line limit below this is checked line by line: no probed spans


def _probed_spans(name: str, where: str, fd: int, size: int, pos: int,
                  counting: _CountingReader) -> Generator[Block, None, int]:
    """Blocks of a plain regular file found without reading it: from `pos`, each ends at the first newline
    past READ_BUFFER bytes, found by reading PROBE_BYTES there. No line is counted (the blocks follow: see
    Block.follows) and none can be over a limit of PROBED_MIN_LINE_BYTES (a block spans less). Returns the
    offset where it stopped: the end of the file, or a line longer than the probe (or a file that changed),
    which the caller reads in order from there."""
    follows = False  # the first block of the file starts at line 1
    while pos < size:
        end = pos + READ_BUFFER
        if end >= size:  # the rest of the file, without the newline that ends its last line
            length = size - pos - (os.pread(fd, 1, size - 1) == b"\n")
            counting.consumed = size
            yield Block(name, 1, span=(where, pos, length), follows=follows)
            return size
        cut = os.pread(fd, PROBE_BYTES, end).find(b"\n")
        if cut < 0:
            return pos
        counting.consumed = end + cut + 1
        yield Block(name, 1, span=(where, pos, end + cut - pos), follows=follows)
        follows = True
        pos = end + cut + 1
    return pos


def _newlines(fd: int, start: int, end: int) -> int:
    """Newlines in the file between two offsets."""
    count = 0
    while start < end:
        piece = os.pread(fd, min(end - start, 1 << 20), start)
        if not piece:
            break
        count += piece.count(b"\n")
        start += len(piece)
    return count


def read_blocks(source: Source, progress: _ProgressCounter | None = None,
                max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, keep_text: bool = True) -> Iterator[Block | ReadFailure]:
    """Stream one source as blocks of lines (about READ_BUFFER = 256 KiB of text each), numbered from 1.

    A BOM at the start and CR before LF are removed. A line longer than max_line_bytes is skipped up to its
    end and reported as a ReadFailure in its place. Decompression or I/O errors end the source with one
    ReadFailure naming the line where reading stopped; everything before it is delivered.

    keep_text=True (one process): each chunk is split into lines as it is read, with no copy of its text.
    keep_text=False (--workers): a block is split where it is mapped, in a worker; a block of a regular plain
    file keeps only its span (the worker reads it again), so the reader copies nothing, and its spans are
    found by probing (_probed_spans: the file is not read here, and its lines are counted where they are
    mapped) as long as its lines are shorter than a probe and the line limit is PROBED_MIN_LINE_BYTES or more."""
    name = source.name
    try:
        raw = _open_binary(source)
    except OSError as exc:
        yield ReadFailure(name, 1, f"cannot open: {exc.strerror or exc}")
        return
    counting = _CountingReader(raw)
    if progress is not None:
        progress.attach(counting)
    number = 0  # lines completed so far
    kind = "plain"
    where = None  # a regular file's absolute path: its blocks get spans (pipes and stdin cannot be re-read)
    if source.path is not None and stat.S_ISREG(os.fstat(raw.fileno()).st_mode):
        where = os.fspath(source.path.resolve())
    at = 0  # the file offset of the next chunk (for spans: plain files only)
    pending = b""
    skipping = 0  # > 0 while discarding the rest of an over-long line: bytes seen so far
    skipped_head = b""
    try:
        chunks, kind = _chunks(counting)
        if kind != "plain":
            where = None
        first = True
        if where is not None and not keep_text and max_line_bytes >= PROBED_MIN_LINE_BYTES:
            fd = raw.fileno()
            size = os.fstat(fd).st_size
            begin = len(BOM) if os.pread(fd, len(BOM), 0) == BOM else 0
            at = yield from _probed_spans(name, where, fd, size, begin, counting)
            if at >= size:
                return
            number = _newlines(fd, begin, at)  # the rest is read in order, numbered: count the lines before it
            raw.seek(at)
            counting.consumed = at
            if progress is not None:
                progress.detach(counting)
            counting = _CountingReader(raw)  # the first reader closes its stream when it goes
            if progress is not None:
                progress.attach(counting)
            chunks, first = _plain_chunks(io.BufferedReader(counting, buffer_size=READ_BUFFER)), False
        for chunk in chunks:
            chunk_at = at  # the file offset where `chunk` starts
            at += len(chunk)
            if first:
                first = False
                if chunk.startswith(BOM):
                    chunk = chunk[3:]
                    chunk_at += 3
            if skipping:
                cut = chunk.find(b"\n")
                if cut < 0:
                    skipping += len(chunk)
                    continue
                number += 1
                yield _too_long(name, number, skipping + cut, skipped_head, max_line_bytes)
                skipping = 0
                chunk = chunk[cut + 1:]
                chunk_at += cut + 1
            if len(pending) + len(chunk) > max_line_bytes:  # may hold an over-long line: split here, to find it
                chunk = pending + chunk
                lines = chunk.split(b"\n")
                pending = lines.pop()
                if b"\r" in chunk:
                    lines = _without_cr(lines)
                yield from _split_long(name, number + 1, lines, max_line_bytes)
                number += len(lines)
            elif keep_text:  # the block: the pending start of a line, then this chunk's lines (split here)
                lines = chunk.split(b"\n")
                if len(lines) == 1:
                    pending += chunk
                else:
                    if pending:
                        lines[0] = pending + lines[0]
                    pending = lines.pop()
                    yield Block(name, number + 1, _without_cr(lines) if b"\r" in chunk or lines[0][-1:] == b"\r"
                                else lines)
                    number += len(lines)
            else:  # the same block as its text or span, split where it is mapped (a --workers process)
                cut = chunk.rfind(b"\n")
                if cut < 0:
                    pending += chunk
                else:
                    span = (where, chunk_at - len(pending), len(pending) + cut) if where else None
                    yield Block(name, number + 1, text=None if span else pending + chunk[:cut], span=span)
                    number += chunk.count(b"\n", 0, cut) + 1  # `pending` holds no newline
                    pending = chunk[cut + 1:]
            if len(pending) > max_line_bytes:
                skipping, skipped_head, pending = len(pending), pending[:KEEP_OF_LONG_LINE], b""
        if skipping:
            number += 1
            yield _too_long(name, number, skipping, skipped_head, max_line_bytes)
        elif pending:
            if pending.endswith(b"\r"):
                pending = pending[:-1]
            number += 1
            yield Block(name, number, [pending])
    except (EOFError, zlib.error) as exc:
        yield ReadFailure(name, number + 1, f"corrupt or truncated {kind} data after line {number}: {exc}", pending)
    except OSError as exc:
        yield ReadFailure(name, number + 1, f"read error after line {number}: {exc.strerror or exc}", pending)
    except Exception as exc:  # zstandard raises its own ZstdError
        yield ReadFailure(name, number + 1, f"corrupt {kind} data after line {number}: {exc}", pending)
    finally:
        if progress is not None:
            progress.detach(counting)
        if source.path is not None:
            raw.close()


def _too_long(name: str, number: int, size: int, head: bytes, limit: int) -> ReadFailure:
    return ReadFailure(name, number, f"line is {size:,} bytes, more than --max-line-bytes {limit:,} "
                       f"(raw keeps its first {KEEP_OF_LONG_LINE} bytes)", head)


def _split_long(name: str, start: int, lines: list[bytes], limit: int) -> Iterator[Block | ReadFailure]:
    """Blocks around the over-long lines of a chunk larger than the limit (rare: a huge chunk or a tiny limit)."""
    run: list[bytes] = []
    run_start = start
    for i, ln in enumerate(lines):
        if len(ln) <= limit:
            run.append(ln)
            continue
        if run:
            yield Block(name, run_start, run)
            run = []
        yield _too_long(name, start + i, len(ln), ln[:KEEP_OF_LONG_LINE], limit)
        run_start = start + i + 1
    if run:
        yield Block(name, run_start, run)


def read_lines(source: Source, progress: _ProgressCounter | None = None,
               max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Line | ReadFailure]:
    """The non-blank lines of one source, one at a time (for views that look at single events)."""
    for block in read_blocks(source, progress, max_line_bytes):
        if isinstance(block, ReadFailure):
            yield block
            continue
        number = block.start
        for ln in block.lines:
            if ln and not ln.isspace():
                yield Line(block.source, number, ln)
            number += 1


class _ProgressCounter:
    """Bytes of input consumed so far, across sources (compressed bytes for compressed files)."""

    def __init__(self) -> None:
        self.done = 0
        self._current: _CountingReader | None = None

    def attach(self, reader: _CountingReader) -> None:
        self._current = reader

    def detach(self, reader: _CountingReader) -> None:
        self.done += reader.consumed
        self._current = None

    @property
    def consumed(self) -> int:
        return self.done + (self._current.consumed if self._current else 0)


ProgressCounter = _ProgressCounter


BYTES_PER_EVENT_GUESS = 800  # a Segment event with its context: 600-1,500 bytes of JSON


def expected_events(sources: Sequence[Source]) -> int:
    """A guess at the number of events in the inputs, to size tables up front: bytes on disk divided by
    BYTES_PER_EVENT_GUESS. Compressed files and stdin make it err low, and tables then grow as needed."""
    return sum(s.size or 0 for s in sources) // BYTES_PER_EVENT_GUESS


def total_size(sources: Sequence[Source]) -> int | None:
    """Total bytes to read, or None when any source has no known size (stdin)."""
    total = 0
    for s in sources:
        size = s.size
        if size is None:
            return None
        total += size
    return total


def iter_lines(sources: Sequence[Source], progress: _ProgressCounter | None = None,
               max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Line | ReadFailure]:
    """All non-blank lines of all sources, in order."""
    for source in sources:
        yield from read_lines(source, progress, max_line_bytes)


def iter_blocks(sources: Sequence[Source], progress: _ProgressCounter | None = None,
                max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, keep_text: bool = True) -> Iterator[Block | ReadFailure]:
    """All blocks of all sources, in order."""
    for source in sources:
        yield from read_blocks(source, progress, max_line_bytes, keep_text)
