"""The `send` and `check` commands: flags → endpoint, checkpoint, rejects file, SendRun; progress and
summary on stderr; outcomes → exit codes. Registered in cli.py with app.command("send")(send) and
app.command("check")(check).

Flags shared with dry-run come from options.py."""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from . import send_defaults as defaults
from .checkpoint import Checkpoint, CheckpointFile, Identity, resume_point
from .config import Destination, load_destination
from .lazy import lazy_module
from .options import (
    CompatOpt,
    DedupeOpt,
    InputsArg,
    MappingsOpt,
    MaxLineOpt,
    RejectsOpt,
    SinceOpt,
    UntilOpt,
    WhereOpt,
    build_engine,
    handles_errors,
    open_rejects_file,
    stderr_console,
)
from .sources import DEFAULT_MAX_LINE_BYTES, ProgressCounter, expand_inputs, expected_events

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from . import delivery as dl
else:  # httpx and asyncio cost about 70 ms at start-up, which every other command would pay for nothing
    dl = lazy_module(f"{__package__}.delivery")


def escape(text: str) -> str:
    """rich's markup escape (rich loads when send first prints)."""
    from rich.markup import escape as markup_escape

    return markup_escape(text)

ClientIdOpt = Annotated[
    str | None,
    typer.Option("--client-id", envvar="LD_CLIENT_SIDE_ID", show_envvar=True,
                 help="LaunchDarkly client-side ID. Default: settings.client_side_id of the mappings file."),
]
EventsHostOpt = Annotated[
    str | None,
    typer.Option("--events-host", help="Events host name (https). Default: settings.events_host, "
                 "else events.launchdarkly.com."),
]
GoalsUrlOpt = Annotated[str | None, typer.Option("--goals-url", envvar="LD_SEGMENT_GOALS_URL", hidden=True)]


def _setting(destination: Destination, key: str) -> str | None:
    value = destination.settings.get(key)
    return value if value else None


def _endpoint(destination: Destination, client_id: str | None, events_host: str | None,
              events_url: str | None) -> tuple[str, dl.Endpoint]:
    client_id = client_id or _setting(destination, "client_side_id")
    if events_url is None:
        events_host = events_host or _setting(destination, "events_host")
    endpoint = dl.resolve_endpoint(client_id, events_host, events_url)
    assert client_id is not None
    return client_id, endpoint


def _verify(client_id: str, endpoint: dl.Endpoint, goals_url: str | None, err: Console) -> None:
    """LD3: only against LaunchDarkly's own host (Segment skips it for custom hosts), unless told where."""
    if goals_url is None and not endpoint.default_host:
        err.print(f"check skipped: {escape(endpoint.host)} is a custom events host "
                  "(Segment's destination skips it too)")
        return
    result = dl.check_client_id(client_id, goals_url or dl.GOALS_URL)
    if not result.ok:
        raise dl.RefusedError(f"LaunchDarkly does not recognise the client-side ID {client_id!r} "
                              f"(HEAD {result.url} answered {dl.status_text(result.status)}): check "
                              "--client-id, LD_CLIENT_SIDE_ID or settings.client_side_id")
    err.print(f"ok: LaunchDarkly recognises the client-side ID {escape(client_id)} "
              f"({dl.status_text(result.status)})")


def tune_allocator() -> None:
    """glibc keeps one heap per thread and holds on to freed large blocks (its mmap threshold grows with use);
    a send that allocates and frees megabyte buffers in two threads for hours would carry tens of MB of RSS
    for nothing. Ask it for one heap and to hand large blocks back (Linux/glibc only; elsewhere nothing
    changes). Only for send: in dry-run it costs ~4% speed and memory is not short there."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
    mallopt(m_arena_max, 1)
    mallopt(m_mmap_threshold, 128 * 1024)
    mallopt(m_trim_threshold, 128 * 1024)


@handles_errors
def check(
    mappings: MappingsOpt = None,
    client_id: ClientIdOpt = None,
    events_host: EventsHostOpt = None,
    goals_url: GoalsUrlOpt = None,
) -> None:
    """Verify the client-side ID with LaunchDarkly, as Segment's "test authentication" does."""
    destination = load_destination(mappings)
    client_id, endpoint = _endpoint(destination, client_id, events_host, None)
    _verify(client_id, endpoint, goals_url, stderr_console())


@contextmanager
def _interrupts(run: dl.SendRun, err: Console) -> Iterator[None]:
    """Ctrl-C (or SIGTERM) once: stop reading, let requests on the wire finish, save the checkpoint. Twice:
    cancel requests on the wire too. Three times: give up at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = 0

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            err.print("stopping: finishing the requests in flight and saving the checkpoint "
                      "(Ctrl-C again to stop at once)")
            run.request_stop()
        elif presses == 2:
            run.request_abort()
        else:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _ProgressBar:
    """On a terminal only: bytes of input done (with ETA), lines read, events sent, rejected, events/s."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]send[/]"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
            TextColumn("{task.fields[counts]}"), console=console, transient=False)
        self.task: TaskID | None = None

    def __enter__(self) -> _ProgressBar:
        self.progress.start()
        self.task = self.progress.add_task("send", total=None, counts="")
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, p: dl.Progress) -> None:
        assert self.task is not None
        rate = p.events_sent / p.elapsed if p.elapsed > 0 else 0.0
        counts = f"read {p.lines:,} · sent {p.events_sent:,} · rejected {p.rejected:,} · {rate:,.0f} events/s"
        self.progress.update(self.task, completed=p.bytes_done, total=p.bytes_total, counts=counts)


def reconciliation(run: dl.SendRun) -> tuple[str, float]:
    """`read N = sent S + filtered F + rejected R (parse P, map M, deliver D)` and the delivery rate."""
    s = run.summary
    t = run.totals
    filtered = s.filtered + s.excluded + s.duplicates + s.outside_window
    parse = s.rejected_by_stage.get("parse", 0)
    mapped = s.rejected_lines - parse
    rejected = parse + mapped + t.lines_failed
    line = (f"read {s.lines} = sent {t.lines_sent} + filtered {filtered} + rejected {rejected} "
            f"(parse {parse}, map {mapped}, deliver {t.lines_failed})")
    if t.lines_unsent:
        line += f" + not sent {t.lines_unsent}"
    attempted = t.lines_sent + rejected
    return line, (t.lines_sent / attempted if attempted else 1.0)


def _print_summary(err: Console, run: dl.SendRun, rate: float, line: str, checkpoint: Path | None,
                   rejects: Path | None) -> None:
    s = run.summary
    t = run.totals
    st = run.sender.stats
    seconds = max(run.elapsed, 1e-9)
    err.print(f"ld-segment send: {s.lines:,} lines read in {run.elapsed:.1f} s; {t.events_sent:,} events "
              f"delivered ({t.events_sent / seconds:,.0f} events/s) in {t.batches:,} batches, "
              f"{st.requests:,} requests, {st.retries:,} retries", soft_wrap=True)
    if st.splits or st.bisections:
        err.print(f"  413 splits {st.splits:,}, 400 bisections {st.bisections:,}")
    for reason, n in sorted(t.failed_by_reason.items(), key=lambda kv: -kv[1])[:5]:
        err.print(f"  not delivered: {n:,} events: {escape(reason)}", soft_wrap=True)
    style = "green" if rate >= 1.0 else "yellow"
    err.print(f"  delivery rate [{style}]{rate:.2%}[/] (lines sent / lines sent or rejected)")
    err.print(f"  {line}", soft_wrap=True, markup=False)
    if t.lines_skipped or run.previous_sent:
        err.print(f"  resumed: {t.lines_skipped:,} lines before the checkpoint were skipped; "
                  f"{run.previous_sent:,} events were delivered by earlier runs")
    if rejects is not None and (s.rejected_lines or t.lines_failed or t.lines_unsent):
        err.print(f"  rejects: {escape(str(rejects))}", soft_wrap=True)
    if checkpoint is not None:
        state = "complete" if run.completed else "resume by running the same command again"
        names = run.names
        index, number = run.watermark
        at_start = index >= len(names) or (index == 0 and number == 0)
        where = "the start" if at_start else f"{names[index]}:{number}"
        err.print(f"  checkpoint: {escape(str(checkpoint))} at {escape(where)} ({state})", soft_wrap=True)


@handles_errors
def send(
    inputs: InputsArg = None,
    mappings: MappingsOpt = None,
    where: WhereOpt = None,
    segment_compat: CompatOpt = False,
    rejects: RejectsOpt = None,
    client_id: ClientIdOpt = None,
    events_host: EventsHostOpt = None,
    events_url: Annotated[str | None, typer.Option(
        "--events-url",
        help="Send here instead (scheme, host, port[, path prefix]); http:// only for loopback.",
    )] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100_000,
                                            help="Events per request, at most.")] = defaults.DEFAULT_BATCH_SIZE,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64,
                                             help="Requests in flight at once.")] = defaults.DEFAULT_CONCURRENCY,
    rate: Annotated[float | None, typer.Option(
        "--rate", min=0.001, help="Events per second, at most (default: no limit).")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="Record progress here; running the same command again resumes after the last "
        "delivered batch.")] = None,
    restart: Annotated[bool, typer.Option("--restart",
                                          help="Ignore (and overwrite) the checkpoint.")] = False,
    min_delivery_rate: Annotated[float, typer.Option(
        "--min-delivery-rate", min=0.0, max=1.0,
        help="Exit 1 when the share of lines delivered is lower.")] = 1.0,
    max_attempts: Annotated[int, typer.Option("--max-attempts", min=1, max=100,
                                              help="Attempts per request before its events are rejected.")]
    = defaults.DEFAULT_MAX_ATTEMPTS,
    no_gzip: Annotated[bool, typer.Option("--no-gzip", help="Send uncompressed bodies.")] = False,
    check_first: Annotated[bool, typer.Option(
        "--check", help="Verify the client-side ID with LaunchDarkly first.")] = False,
    batch_bytes: Annotated[int, typer.Option("--batch-bytes", min=256, hidden=True)] = defaults.DEFAULT_BATCH_BYTES,
    gzip_level: Annotated[int, typer.Option("--gzip-level", min=1, max=9,
                                            hidden=True)] = defaults.DEFAULT_GZIP_LEVEL,
    retry_base: Annotated[float, typer.Option("--retry-base", min=0.0, hidden=True)] = defaults.DEFAULT_RETRY_BASE,
    retry_cap: Annotated[float, typer.Option("--retry-cap", min=0.0, hidden=True)] = defaults.DEFAULT_RETRY_CAP,
    timeout: Annotated[float, typer.Option("--timeout", min=0.01, hidden=True)] = defaults.DEFAULT_TIMEOUT,
    checkpoint_interval: Annotated[float, typer.Option("--checkpoint-interval", min=0.0, hidden=True)] = 1.0,
    goals_url: GoalsUrlOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    dedupe: DedupeOpt = True,
    max_line_bytes: MaxLineOpt = DEFAULT_MAX_LINE_BYTES,
) -> None:
    """Map events and deliver them to LaunchDarkly (batched, retried, resumable)."""
    tune_allocator()  # before the delivery thread exists
    from .pipeline import RejectsWriter, Summary
    from .render import print_problems

    err = stderr_console()
    destination = load_destination(mappings, segment_compat=segment_compat)
    if destination.warnings:
        print_problems(err, list(destination.warnings))
    engine = build_engine(destination, where, since, until, dedupe)
    client_id, endpoint = _endpoint(destination, client_id, events_host, events_url)
    if endpoint.default_host and not dl.looks_like_client_id(client_id):
        err.print(f"warning: {escape(repr(client_id))} does not look like a client-side ID (24 hex digits); "
                  "LaunchDarkly will answer 404 if it is wrong", soft_wrap=True)
    sources = expand_inputs(inputs or [])
    # No messageId set: send's memory goes to batches in flight, and its speed is delivery's, not the table's.
    engine.expect(expected_events(sources), small_ids=0)

    store: CheckpointFile | None = None
    identity: Identity | None = None
    resume: Checkpoint | None = None
    if checkpoint is not None:
        store = CheckpointFile(checkpoint, str(rejects.resolve()) if rejects is not None else None)
        store.check_writable()
        identity = Identity.of(destination.path, destination.digest, [(s.name, s.size) for s in sources],
                               {"where": where, "segment-compat": segment_compat, "batch-size": batch_size,
                                "batch-bytes": batch_bytes, "since": since, "until": until, "dedupe": dedupe,
                                "max-line-bytes": max_line_bytes})
        resume = resume_point(store, identity, restart)
        if resume is not None and resume.complete:
            err.print(f"nothing to send: {escape(str(checkpoint))} records that every line was delivered or "
                      f"rejected ({resume.events_sent:,} events sent); use --restart to send again",
                      soft_wrap=True)
            return
        if resume is not None:
            err.print(f"resuming from {escape(str(checkpoint))}: after {escape(resume.where)}",
                      soft_wrap=True)

    if check_first:
        _verify(client_id, endpoint, goals_url, err)

    stream = open_rejects_file(rejects, resume, err)
    summary = Summary()
    counter = ProgressCounter()
    sender = dl.Sender(dl.DeliveryOptions(
        url=endpoint.url, digest=destination.digest, concurrency=concurrency, rate=rate,
        max_attempts=max_attempts, gzip=not no_gzip, gzip_level=gzip_level, retry_base=retry_base,
        retry_cap=retry_cap, timeout=timeout,
    ), [s.name for s in sources])
    bar = _ProgressBar(err) if err.is_terminal else None
    run = dl.SendRun(
        engine, sources, sender, summary, RejectsWriter(stream),
        dl.SendOptions(batch_size=batch_size, batch_bytes=batch_bytes,
                       checkpoint_interval=checkpoint_interval, max_line_bytes=max_line_bytes),
        rejects_stream=stream, checkpoint=store, identity=identity, resume=resume, progress_counter=counter,
        on_progress=bar.update if bar is not None else None,
    )
    try:
        with _interrupts(run, err):
            if bar is not None:
                with bar:
                    run.run()
            else:
                run.run()
    finally:
        if stream is not None:
            stream.close()

    line, delivered = reconciliation(run)
    _print_summary(err, run, delivered, line, checkpoint, rejects)
    fatal = sender.fatal
    if fatal is not None:
        raise dl.RefusedError(
            f"LaunchDarkly answered {fatal.message}: the client-side ID or events host is wrong "
            f"(check --client-id, LD_CLIENT_SIDE_ID or settings.client_side_id, and --events-host); "
            f"nothing more was sent. {_what_now(run, checkpoint, rejects)}")
    if run.stop_requested:
        err.print(f"[bold red]interrupted:[/] {escape(_what_now(run, checkpoint, rejects))}", soft_wrap=True)
        raise typer.Exit(130)
    if delivered < min_delivery_rate:
        err.print(f"[bold red]error:[/] delivery rate {delivered:.2%} is below --min-delivery-rate "
                  f"{min_delivery_rate:.2%}", soft_wrap=True)
        raise typer.Exit(1)


def _what_now(run: dl.SendRun, checkpoint: Path | None, rejects: Path | None) -> str:
    unsent = run.totals.lines_unsent
    if not unsent:
        return "Every line read was delivered or recorded."
    if checkpoint is not None:
        return f"{unsent:,} lines were not sent: run the same command again to resume from {checkpoint}."
    if rejects is not None:
        return f"{unsent:,} lines were not sent: they are in {rejects} (stage deliver)."
    return f"{unsent:,} lines were not sent (use --checkpoint or --rejects to keep track of them)."
