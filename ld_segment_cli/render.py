"""Everything the user sees: NDJSON/JSON output, the rich per-event view, summaries and problem lists.
The only module that knows about rich; stdout stays machine-readable when it is not a terminal."""

from __future__ import annotations

import datetime as dt
from typing import IO, Any

import orjson
from rich.console import Console
from rich.json import JSON
from rich.table import Table
from rich.text import Text

from . import js
from .config import Destination
from .diff import DiffTotals, LineDiff
from .errors import Problem
from .mapping_kit import MappingError, directive_sources, get_path, transform
from .pipeline import DUPLICATE, EXCLUDED, OUTSIDE_WINDOW, Engine, Outcome, Summary

FLUSH_BYTES = 1 << 16


class NdjsonWriter:
    """Outgoing events, one compact JSON.stringify line each, buffered into large writes."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._parts: list[bytes] = []
        self._size = 0

    def write_event(self, event: dict[str, Any]) -> None:
        data = js.dumps(event)
        self._parts.append(data)
        self._parts.append(b"\n")
        self._size += len(data) + 1
        if self._size >= FLUSH_BYTES:
            self.flush()

    def write_outcome(self, outcome: Outcome) -> None:
        for _, event in outcome.built:
            self.write_event(event)

    def flush(self) -> None:
        if self._parts:
            self._stream.write(b"".join(self._parts))
            self._parts.clear()
            self._size = 0
        self._stream.flush()


def format_ms(ms: int | None) -> str:
    if ms is None:
        return "—"
    try:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"


SKIP_TEXT = {DUPLICATE: "· duplicate messageId, skipped", OUTSIDE_WINDOW: "· outside --since/--until",
             EXCLUDED: "· excluded by --where"}


def json_view(event: dict[str, Any]) -> JSON | Text:
    """An outgoing event as indented, highlighted JSON; as its compact line when it nests deeper than rich's
    reader (Python's json module) can go."""
    text = js.dumps(event).decode()
    try:
        return JSON(text, indent=2)
    except RecursionError:
        return Text(text)


class RichView:
    """Per-event view for a terminal: origin, the mappings that fired and the payload as highlighted JSON."""

    def __init__(self, console: Console, show: str = "matched") -> None:
        self.console = console
        self.show = show

    def wants(self, outcome: Outcome) -> bool:
        if self.show == "all":
            return True
        status = "unmatched" if outcome.status == "filtered" else outcome.status
        if status == "built":
            status = "matched"
        return status == self.show

    def outcome(self, outcome: Outcome) -> None:
        if not self.wants(outcome):
            return
        c = self.console
        origin = Text(f"{outcome.source}:{outcome.line}", style="bold cyan")
        if outcome.skipped is not None:
            c.print(origin, Text(SKIP_TEXT[outcome.skipped], style="dim"))
            return
        for mapping, event in outcome.built:
            c.print(origin, Text("→", style="dim"), Text(mapping.name, style="bold green"),
                    Text(f"({mapping.action})", style="dim"))
            c.print(json_view(event))
        for reject in outcome.rejects:
            who = f"{reject.mapping}: " if reject.mapping else ""
            c.print(origin, Text(f"✗ rejected ({reject.stage})", style="bold red"), Text(who + reject.reason))
        if not outcome.built and not outcome.rejects:
            kind = outcome.event.get("type") if isinstance(outcome.event, dict) else None
            c.print(origin, Text(f"· no mapping fired (type={kind!r})", style="dim"))


def summary_table(summary: Summary, title: str = "Summary") -> Table:
    table = Table(title=title, show_header=True, header_style="bold", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("lines read", str(summary.lines))
    table.add_row("  built ≥1 event", str(summary.built_lines))
    table.add_row("  no mapping fired", str(summary.filtered))
    if summary.duplicates:
        table.add_row("  duplicate messageId", str(summary.duplicates))
    if summary.outside_window:
        table.add_row("  outside --since/--until", str(summary.outside_window))
    if summary.excluded:
        table.add_row("  excluded by --where", str(summary.excluded))
    table.add_row("  rejected", str(summary.rejected_lines))
    for name, stats in summary.per_mapping.items():
        table.add_row(f"mapping {name}", f"matched {stats.matched} · built {stats.built} · rejected {stats.rejected}")
    for reason, n in summary.rejected_by_reason.most_common(10):
        table.add_row(f"rejected: {reason}", str(n))
    table.add_row("outgoing events", str(summary.events))
    for kind, n in summary.events_by_kind.most_common():
        table.add_row(f"  kind {kind}", str(n))
    for key, n in summary.events_by_key.most_common(10):
        table.add_row(f"  key {key}", str(n))
    if summary.first_creation is not None:
        table.add_row("creationDate range", f"{format_ms(summary.first_creation)} … {format_ms(summary.last_creation)}")
    return table


def print_summary(console: Console, summary: Summary) -> None:
    console.print(summary_table(summary))


def print_problems(console: Console, problems: list[Problem]) -> None:
    for p in problems:
        style = "red" if p.severity == "error" else "yellow"
        console.print(Text(f"{p.severity}: ", style=f"bold {style}") + Text(str(p)), soft_wrap=True)


def json_document(events: list[dict[str, Any]], summary: Summary) -> bytes:
    return b'{"events":[' + b",".join(js.dumps(e) for e in events) + b'],"summary":' + orjson.dumps(
        summary.to_dict()) + b"}\n"


def _value(value: Any) -> str:
    if value is js.UNDEFINED:
        return "—"
    text = js.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "…"


def diff_lines(diff: LineDiff) -> list[Text]:
    """A changed input event as readable lines: ~ changed (old → new), + added, - removed, events in or out."""
    out = [Text(f"{diff.source}:{diff.line}", style="bold cyan")]
    for change in diff.changes:
        if change.status == "appeared":
            ev = change.after or {}
            out.append(Text(f"  + event appears via {change.mapping}: {ev.get('kind')} {_value(ev.get('key'))}",
                            style="green"))
            out.append(Text(f"      {_value(ev)}", style="green"))
        elif change.status == "disappeared":
            ev = change.before or {}
            out.append(Text(f"  - event disappears (was {change.mapping}): {ev.get('kind')} {_value(ev.get('key'))}",
                            style="red"))
            out.append(Text(f"      {_value(ev)}", style="red"))
        else:
            out.append(Text(f"  ~ {change.mapping}", style="yellow"))
            for fc in change.fields:
                if fc.op == "added":
                    out.append(Text(f"      + {fc.path}: {_value(fc.new)}", style="green"))
                elif fc.op == "removed":
                    out.append(Text(f"      - {fc.path}: {_value(fc.old)}", style="red"))
                else:
                    line = Text(f"      ~ {fc.path}: ", style="yellow")
                    line.append(_value(fc.old) if not isinstance(fc.old, str) or not fc.old.startswith("key order")
                                else fc.old, style="red")
                    line.append(" → ")
                    line.append(_value(fc.new) if not isinstance(fc.new, str) or not fc.new.startswith("key order")
                                else fc.new, style="green")
                    out.append(line)
    return out


def print_line_diff(console: Console, diff: LineDiff) -> None:
    for line in diff_lines(diff):
        console.print(line, soft_wrap=True)


def diff_totals_table(totals: DiffTotals, before: str, after: str) -> Table:
    table = Table(title=f"Diff {before} → {after}", title_justify="left", header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("input events read", str(totals.lines))
    table.add_row("input events whose outgoing events differ", str(totals.lines_changed))
    table.add_row("  outgoing events changed", str(totals.events_changed))
    table.add_row("  outgoing events that appear", str(totals.events_appeared))
    table.add_row("  outgoing events that disappear", str(totals.events_disappeared))
    table.add_row("rejected (before / after)", f"{totals.rejected_before} / {totals.rejected_after}")
    for (op, path), n in totals.fields.most_common(15):
        table.add_row(f"field {op}: {path}", str(n))
    for key, n in totals.keys_gained.most_common(10):
        table.add_row(f"key gains events: {key}", f"+{n}")
    for key, n in totals.keys_lost.most_common(10):
        table.add_row(f"key loses events: {key}", f"-{n}")
    return table


def print_explanation(console: Console, destination: Destination, event: Any, engine: Engine) -> None:
    """`explain`: each mapping's trigger clause by clause, then what fires and where each field comes from."""
    outcome = Outcome("<explain>", 0, b"", event)
    engine.apply(event, outcome)
    built = {m.name: e for m, e in outcome.built}
    rejected = {r.mapping: r.reason for r in outcome.rejects}
    for mapping in destination.mappings:
        explanation = mapping.trigger.explain(event)
        fired = bool(explanation.result)
        head = Text(f"{mapping.name}", style="bold")
        head.append(f"  ({mapping.action})  trigger: {mapping.trigger.text}", style="dim")
        console.print(head, soft_wrap=True)
        for line in explanation.lines():
            console.print(Text("  " + line, style="green" if "✓" in line else "red" if "✗" in line else ""),
                          soft_wrap=True)
        if not fired:
            console.print(Text("  → does not fire", style="dim"))
            console.print()
            continue
        if mapping.name in rejected:
            console.print(Text(f"  → fires, but the event is rejected: {rejected[mapping.name]}", style="bold red"),
                          soft_wrap=True)
        else:
            console.print(Text("  → fires and sends:", style="bold green"))
            console.print(json_view(built[mapping.name]))
        console.print(Text("  fields:", style="bold"))
        for key, value in mapping.mapping.items():
            sources = directive_sources({key: value})
            if not sources:
                console.print(Text(f"    {key} = {_value(value)} (fixed value)"), soft_wrap=True)
                continue
            seen: set[tuple[str, str]] = set()
            for _, directive, path in sources:
                if (directive, path) in seen:  # @if reads its path once to test it and once for the value
                    continue
                seen.add((directive, path))
                found = get_path(event, path) if directive != "@template" else js.UNDEFINED
                detail = f" → {_value(found)}" if directive != "@template" else ""
                console.print(Text(f"    {key} ← {directive} {path}{detail}"), soft_wrap=True)
            try:
                resolved = transform({key: value}, event).get(key, js.UNDEFINED)
            except MappingError as exc:
                console.print(Text(f"      = error: {exc.message}", style="red"), soft_wrap=True)
                continue
            shown = "undefined (left out)" if resolved is js.UNDEFINED else _value(resolved)
            console.print(Text(f"      = {shown}", style="dim"), soft_wrap=True)
        console.print()
    fired = [m.name for m in destination.mappings if m.name in built or m.name in rejected]
    console.print(Text("fires: " + (", ".join(fired) if fired else "no mapping"), style="bold"))


class InputProgress:
    """A progress bar on stderr, in bytes of input (compressed bytes for .gz/.zst), with events/s and ETA.
    Updated once per block, so it costs nothing per event; absent when stderr is not a terminal."""

    def __init__(self, console: Console, total: int | None, counter: Any, label: str = "reading") -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._counter = counter
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                                  TextColumn("{task.fields[events]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                  console=console, transient=True)
        self._task = self._progress.add_task(label, total=total, events="")

    def __enter__(self) -> InputProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, lines: int, detail: str = "") -> None:
        elapsed = self._progress.tasks[0].elapsed or 0.0
        rate = f"{lines / elapsed:,.0f} lines/s" if elapsed > 0.5 else ""
        self._progress.update(self._task, completed=self._counter.consumed,
                              events=f"{lines:,} lines {rate} {detail}".rstrip())
