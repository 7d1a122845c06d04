"""What every command shares: the error handler that turns user errors into one line and an exit code, the
option declarations (same flag, same meaning everywhere) and the input filters built from them."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from . import fql
from .config import Destination
from .errors import ConfigError, UserError
from .lazy import lazy_module
from .pipeline import Engine

if TYPE_CHECKING:
    from rich.console import Console

    from . import render
    from .checkpoint import Checkpoint
else:
    render = lazy_module(f"{__package__}.render")

F = TypeVar("F", bound=Callable[..., Any])


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _fail(message: str, code: int) -> typer.Exit:
    stderr_console().print(f"[bold red]error:[/] {message}", soft_wrap=True, markup=True, highlight=False)
    return typer.Exit(code)


def handles_errors(func: F) -> F:
    """Turn user-facing errors into one `error:` line and the documented exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            render.print_problems(stderr_console(), exc.problems)
            raise typer.Exit(exc.exit_code) from None
        except UserError as exc:
            if os.environ.get("LD_SEGMENT_DEBUG"):
                raise
            raise _fail(exc.message, exc.exit_code) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", 130) from None
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, like other filters do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None

    return wrapper  # type: ignore[return-value]


MappingsOpt = Annotated[
    str | None,
    typer.Option("--mappings", "-m", envvar="LD_SEGMENT_MAPPINGS",
                 help="Mappings file (YAML). Default: Segment's presets."),
]
InputsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Files, folders (recursive), globs, or - for stdin. .gz/.zst are decompressed.",
                   show_default=False),
]
WhereOpt = Annotated[str | None, typer.Option("--where", help="Extra FQL filter on input events.")]
CompatOpt = Annotated[
    bool,
    typer.Option("--segment-compat", help="Reproduce Segment byte for byte, including events it dates 'now'."),
]
RejectsOpt = Annotated[
    Path | None,
    typer.Option("--rejects", help="Write every input line not mapped or delivered here (NDJSON, with the reason)."),
]


SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Only events with timestamp at or after this ISO date/time (UTC).")
]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Only events with timestamp before this ISO date/time.")]
DedupeOpt = Annotated[
    bool, typer.Option("--dedupe/--no-dedupe", help="Skip events whose messageId was already seen in this run.")
]
MaxLineOpt = Annotated[
    int, typer.Option("--max-line-bytes", min=1, help="Longer lines are rejected (stage parse) and skipped.")
]
FailFastOpt = Annotated[bool, typer.Option("--fail-fast", help="Stop at the first unparseable line (exit 1).")]
WorkersOpt = Annotated[
    int, typer.Option("--workers", "-w", min=1, max=64, help="Processes mapping in parallel (output order kept).")
]


def _compile_where(where: str | None) -> fql.Trigger | None:
    if where is None:
        return None
    trigger = fql.compile_trigger(where)
    if trigger.error is not None:
        raise UserError(f"--where:{trigger.error.column}: {trigger.error.message} (in: {where})")
    return trigger


def parse_instant(flag: str, text: str | None) -> int | None:
    """--since/--until: an ISO 8601 date or date-time; without an offset it is UTC. Epoch milliseconds."""
    if text is None:
        return None
    value = text.strip()
    try:
        moment = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "Zz" else value)
    except ValueError:
        raise UserError(f"{flag} {text}: expected an ISO 8601 date or date-time, e.g. 2024-01-31 "
                        "or 2024-01-31T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def build_engine(destination: Destination, where: str | None, since: str | None, until: str | None,
                 dedupe: bool) -> Engine:
    """The input filters every event-reading command shares: --where, --since/--until, --dedupe."""
    since_ms, until_ms = parse_instant("--since", since), parse_instant("--until", until)
    if since_ms is not None and until_ms is not None and until_ms <= since_ms:
        raise UserError(f"--until {until} is not after --since {since}: no event could pass")
    return Engine(destination, _compile_where(where), since_ms=since_ms, until_ms=until_ms, dedupe=dedupe)



def open_rejects_file(path: Path | None, resume: Checkpoint | None = None,
                      err: Console | None = None) -> IO[bytes] | None:
    """The --rejects file, or None. A resumed send cuts it back to what its checkpoint vouches for and
    appends; otherwise it starts empty. Not writable is a usage error (exit 2) before anything is read."""
    if path is None:
        return None
    where = str(path.resolve())
    try:
        if resume is not None and resume.rejects_path == where and path.is_file() \
                and path.stat().st_size >= resume.rejects_offset:
            stream = open(path, "r+b")  # noqa: SIM115 - closed at the end of the run
            stream.truncate(resume.rejects_offset)
            stream.seek(resume.rejects_offset)
            return stream
        if resume is not None and resume.rejects_path and resume.rejects_path != where and err is not None:
            from rich.markup import escape

            err.print(f"note: the rejects of the earlier run(s) are in {escape(resume.rejects_path)}")
        return open(path, "wb")
    except OSError as exc:
        raise UserError(f"{path}: cannot write rejects file: {exc.strerror or exc}") from None
