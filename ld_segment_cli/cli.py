"""The `ld-segment` command line: parse flags, build the pipeline, map outcomes to exit codes. No logic here."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import __version__, js, send_cli
from .config import load_destination
from .diff import DiffTotals, LineDiff, diff_line
from .embedded_tests import run_tests
from .errors import InputLineError, Problem, UserError
from .lazy import lazy_module, stderr_is_terminal
from .options import (
    CompatOpt,
    DedupeOpt,
    FailFastOpt,
    InputsArg,
    MappingsOpt,
    MaxLineOpt,
    RejectsOpt,
    SinceOpt,
    UntilOpt,
    WhereOpt,
    WorkersOpt,
    build_engine,
    handles_errors,
    open_rejects_file,
    stderr_console,
)
from .pipeline import PARSE, Engine, MappedBlock, Outcome, RejectsWriter, Summary, map_block, parse_line
from .sources import (
    DEFAULT_MAX_LINE_BYTES,
    Block,
    ProgressCounter,
    ReadFailure,
    Source,
    expand_inputs,
    expected_events,
    iter_blocks,
    iter_lines,
    total_size,
)

if TYPE_CHECKING:
    from rich.console import Console

    from . import render
else:  # rich loads only where something is drawn: the NDJSON hot path with plain stderr never needs it
    render = lazy_module(f"{__package__}.render")


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Replay Segment event exports into LaunchDarkly exactly as Segment's LaunchDarkly (Actions) "
    "destination would.",
)

class Format(str, Enum):
    rich = "rich"
    ndjson = "ndjson"
    json = "json"


class Show(str, Enum):
    matched = "matched"
    unmatched = "unmatched"
    rejected = "rejected"
    all = "all"


def _report_warnings(warnings: tuple[Problem, ...] | list[Problem]) -> None:
    if warnings:
        render.print_problems(stderr_console(), list(warnings))


def _stop_at(outcome: Outcome) -> InputLineError:
    reject = outcome.rejects[0]
    return InputLineError(f"{outcome.source}:{outcome.line}: {reject.reason} (stopped by --fail-fast)")


@app.command("dry-run")
@handles_errors
def dry_run(
    inputs: InputsArg = None,
    mappings: MappingsOpt = None,
    format: Annotated[
        Format | None, typer.Option("--format", "-f", help="rich (terminal default) | ndjson | json")
    ] = None,
    where: WhereOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Stop after N shown events.")] = None,
    show: Annotated[Show, typer.Option("--show", help="rich view: which events to show.")] = Show.matched,
    rejects: RejectsOpt = None,
    segment_compat: CompatOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    dedupe: DedupeOpt = True,
    max_line_bytes: MaxLineOpt = DEFAULT_MAX_LINE_BYTES,
    fail_fast: FailFastOpt = False,
    fail_on_reject: Annotated[bool, typer.Option("--fail-on-reject", help="Exit 1 if any line was rejected.")] = False,
    workers: WorkersOpt = 1,
    against: Annotated[
        str | None, typer.Option("--against", help="Diff mode: also map with OTHER.yaml and show what changes.")
    ] = None,
) -> None:
    """Map events and show what would be sent; send nothing."""
    destination = load_destination(mappings, segment_compat=segment_compat)
    _report_warnings(destination.warnings)
    engine = build_engine(destination, where, since, until, dedupe)
    sources = expand_inputs(inputs or [])
    engine.expect(expected_events(sources))
    fmt = format or (Format.rich if sys.stdout.isatty() else Format.ndjson)
    if workers > 1 and (fmt is not Format.ndjson or limit is not None or against is not None):
        stderr_console().print("note: --workers applies to NDJSON output without --limit or --against; "
                               "this run uses one process", soft_wrap=True, highlight=False)
    if against is not None:
        other = load_destination(against, segment_compat=segment_compat)
        _report_warnings(other.warnings)
        _dry_run_diff(engine, Engine(other), sources, fmt, limit, mappings or "presets", against, max_line_bytes)
        return
    rejects_out = RejectsWriter(open_rejects_file(rejects))
    summary = Summary()
    on_terminal = stderr_is_terminal()
    err = stderr_console() if on_terminal or fmt is Format.rich else None  # rich, only when it draws
    counter = ProgressCounter()
    bar = render.InputProgress(err, total_size(sources), counter) if on_terminal and err is not None \
        and fmt is not Format.rich else None
    try:
        with bar or contextlib.nullcontext():
            if fmt is Format.ndjson and limit is None:
                _stream_ndjson(engine, sources, summary, rejects_out, counter, bar, max_line_bytes, fail_fast,
                               workers)
            else:
                _stream_outcomes(engine, sources, summary, rejects_out, fmt, show, limit, max_line_bytes, fail_fast,
                                 counter, bar)
    finally:
        rejects_out.close()
    if err is not None:
        render.print_summary(err, summary)
    else:
        sys.stderr.write(summary.line() + "\n")
    if fail_on_reject and summary.rejected_lines:
        raise typer.Exit(1)


def _stream_ndjson(engine: Engine, sources: list[Source], summary: Summary, rejects_out: RejectsWriter,
                   counter: ProgressCounter, bar: render.InputProgress | None, max_line_bytes: int,
                   fail_fast: bool, workers: int) -> None:
    """The hot path: blocks of lines in, blocks of NDJSON out, one write per block."""
    write = sys.stdout.buffer.write
    blocks = iter_blocks(sources, counter, max_line_bytes, keep_text=workers == 1)
    if workers > 1:
        from .workers import map_parallel

        results = map_parallel(engine, blocks, workers, fail_fast)
    else:
        results = _map_serial(engine, blocks, fail_fast, summary)
    for out, rejected, part, stopped in results:
        if part is not summary:
            summary.merge(part)
        if out:
            out.append(b"")
            write(b"\n".join(out))
        for outcome in rejected:
            rejects_out.write_outcome(outcome)
        if bar is not None:
            bar.update(summary.lines)
        if stopped is not None:
            sys.stdout.buffer.flush()
            raise _stop_at(stopped)
    sys.stdout.buffer.flush()


def _map_serial(engine: Engine, blocks: Iterable[Block | ReadFailure], fail_fast: bool,
                summary: Summary) -> Iterator[MappedBlock]:
    for block in blocks:
        yield map_block(engine, block, fail_fast, into=summary)


def _stream_outcomes(engine: Engine, sources: list[Source], summary: Summary, rejects_out: RejectsWriter,
                     fmt: Format, show: Show, limit: int | None, max_line_bytes: int, fail_fast: bool,
                     counter: ProgressCounter, bar: render.InputProgress | None) -> None:
    """One Outcome per line, for the rich view, the JSON document and --limit."""
    out = sys.stdout.buffer
    ndjson = render.NdjsonWriter(out)
    collected: list[dict[str, Any]] = []
    view = render.RichView(_console(), show.value) if fmt is Format.rich else None
    shown = 0
    try:
        for outcome in engine.run(iter_lines(sources, counter, max_line_bytes)):
            summary.add(outcome)
            if bar is not None and not summary.lines % 1000:
                bar.update(summary.lines)
            if outcome.rejects:
                rejects_out.write_outcome(outcome)
                if fail_fast and outcome.rejects[0].stage == PARSE:
                    raise _stop_at(outcome)
            if view is not None:
                if view.wants(outcome):
                    view.outcome(outcome)
                    shown += 1
            elif fmt is Format.ndjson:
                ndjson.write_outcome(outcome)
                shown += len(outcome.built)
            else:
                collected.extend(event for _, event in outcome.built)
                shown += len(outcome.built)
            if limit is not None and shown >= limit:
                break
    finally:
        ndjson.flush()
    if fmt is Format.json:
        out.write(render.json_document(collected[:limit] if limit else collected, summary))
        out.flush()


def _dry_run_diff(before: Engine, after: Engine, sources: list[Source], fmt: Format, limit: int | None,
                  before_name: str, after_name: str, max_line_bytes: int) -> None:
    """Every event through both mapping files; show only the events whose outgoing events differ, then totals."""
    totals = DiffTotals()
    out = sys.stdout.buffer
    console = _console() if fmt is Format.rich else None
    changed: list[dict[str, Any]] = []
    shown = 0
    for outcome in before.run(iter_lines(sources, None, max_line_bytes)):
        other = Outcome(outcome.source, outcome.line, outcome.raw, outcome.event, skipped=outcome.skipped)
        if outcome.event is not None and not outcome.excluded:
            after.apply(outcome.event, other)
        totals.rejected_before += bool(outcome.rejects)
        totals.rejected_after += bool(other.rejects) or (outcome.event is None and bool(outcome.rejects))
        diff = diff_line(outcome.source, outcome.line, [(m.name, e) for m, e in outcome.built],
                         [(m.name, e) for m, e in other.built])
        totals.add(diff)
        if diff is None:
            continue
        shown += 1
        if console is not None:
            render.print_line_diff(console, diff)
        elif fmt is Format.ndjson:
            out.write(js.dumps(diff.record()) + b"\n")
        else:
            changed.append(diff.record())
        if limit is not None and shown >= limit:
            break
    if fmt is Format.json:
        out.write(js.dumps({"changes": changed, "summary": totals.to_dict()}) + b"\n")
    out.flush()
    err = stderr_console()
    if err.is_terminal or fmt is Format.rich:
        err.print(render.diff_totals_table(totals, before_name, after_name))
    else:
        err.print(f"ld-segment: {totals.lines} events read, {totals.lines_changed} differ: "
                  f"{totals.events_changed} changed, {totals.events_appeared} appear, "
                  f"{totals.events_disappeared} disappear", soft_wrap=True)


@app.command("test")
@handles_errors
def test(
    mappings: Annotated[str, typer.Option("--mappings", "-m", envvar="LD_SEGMENT_MAPPINGS", help="Mappings file.")],
    segment_compat: CompatOpt = False,
) -> None:
    """Run the tests: cases embedded in the mappings file; exit 1 if any fails."""
    destination = load_destination(mappings, segment_compat=segment_compat)
    results = run_tests(destination)
    from rich.text import Text

    console = _console()
    for result in results:
        where = f"{mappings}:{result.case.line}" if result.case.line else mappings
        if result.passed:
            console.print(f"[green]PASS[/] {result.case.name}")
            continue
        console.print(f"[bold red]FAIL[/] {result.case.name}  ({where})")
        for reject in result.rejects:
            console.print(f"      rejected: {reject}", style="red", soft_wrap=True)
        console.print("      expected → actual:")
        for change in result.changes:
            for line in render.diff_lines(LineDiff("", 0, [], [], (change,)))[1:]:
                console.print(Text("    ") + line, soft_wrap=True)
    failed = sum(not r.passed for r in results)
    if not results:
        console.print(f"no tests in {mappings} (add a `tests:` list)")
    else:
        console.print(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


def _explain_input(event: str | None, line: str | None) -> tuple[str, bytes]:
    """The raw event for `explain`: a JSON argument, `-` for stdin, or FILE:N from an export."""
    if line is not None:
        path, _, number = line.rpartition(":")
        if not path or not number.isdigit():
            raise UserError(f"--line {line}: expected FILE:N, e.g. export.ndjson.gz:42")
        wanted = int(number)
        for item in iter_lines(expand_inputs([path])):
            if item.number == wanted:
                if isinstance(item, ReadFailure):
                    raise UserError(f"{path}:{wanted}: {item.reason}")
                return f"{path}:{wanted}", item.raw
            if item.number > wanted:
                break
        raise UserError(f"{path}: no event on line {wanted}")
    if event is None or event == "-":
        return "-", sys.stdin.buffer.read().strip()
    return "argument", event.encode()


@app.command("explain")
@handles_errors
def explain(
    event: Annotated[str | None, typer.Argument(help="The event as JSON, or - for stdin.", show_default=False)] = None,
    line: Annotated[str | None, typer.Option("--line", help="Take the event from FILE:N instead.")] = None,
    mappings: MappingsOpt = None,
    segment_compat: CompatOpt = False,
) -> None:
    """For one event: every trigger clause by clause, which mappings fire, and each outgoing field's source."""
    destination = load_destination(mappings, segment_compat=segment_compat)
    origin, raw = _explain_input(event, line)
    parsed, error = parse_line(raw)
    if error is not None:
        raise UserError(f"{origin}: {error}")
    render.print_explanation(_console(), destination, parsed, Engine(destination))


@app.command("validate")
@handles_errors
def validate(
    mappings: Annotated[str, typer.Option("--mappings", "-m", envvar="LD_SEGMENT_MAPPINGS", help="Mappings file.")],
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when there are warnings.")] = False,
) -> None:
    """Check a mappings file: YAML, triggers (with lint warnings), directives, fields, limits."""
    from .config import check_file

    destination, problems = check_file(mappings)
    render.print_problems(stderr_console(), problems)
    if destination is None:
        raise typer.Exit(2)
    warnings = len(destination.warnings)
    typer.echo(f"ok: {mappings}: {len(destination.mappings)} mappings, {len(destination.tests)} tests"
               + (f", {warnings} warnings" if warnings else ""))
    if strict and warnings:
        raise typer.Exit(1)


@app.command("init")
@handles_errors
def init(
    path: Annotated[str, typer.Argument(help="Where to write the starter file (- for stdout).")] = "mappings.yaml",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter mappings file (Segment's two presets)."""
    from importlib.resources import files

    text = files("ld_segment_cli").joinpath("starter.yaml").read_text(encoding="utf-8")
    if path == "-":
        sys.stdout.write(text)
        return
    target = Path(path)
    if target.exists() and not force:
        raise UserError(f"{path} already exists (use --force to overwrite)")
    target.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {path}: edit it, then run `ld-segment validate -m {path}`")


app.command("send")(send_cli.send)
app.command("check")(send_cli.check)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ld-segment {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Replay Segment event exports into LaunchDarkly."""


def main() -> None:
    app(prog_name="ld-segment")
