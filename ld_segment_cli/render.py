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
from .errors import Problem
from .pipeline import Outcome, Summary

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
        if outcome.excluded:
            c.print(origin, Text("excluded by --where", style="dim"))
            return
        for mapping, event in outcome.built:
            c.print(origin, Text("→", style="dim"), Text(mapping.name, style="bold green"),
                    Text(f"({mapping.action})", style="dim"))
            c.print(JSON(js.dumps(event).decode(), indent=2))
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


def summary_line(summary: Summary) -> str:
    """One plain line for non-terminal stderr."""
    return (f"ld-segment: {summary.lines} lines read: {summary.built_lines} built {summary.events} events, "
            f"{summary.filtered} matched no mapping, {summary.excluded} excluded by --where, "
            f"{summary.rejected_lines} rejected")


def print_problems(console: Console, problems: list[Problem]) -> None:
    for p in problems:
        style = "red" if p.severity == "error" else "yellow"
        console.print(Text(f"{p.severity}: ", style=f"bold {style}") + Text(str(p)), soft_wrap=True)


def json_document(events: list[dict[str, Any]], summary: Summary) -> bytes:
    return b'{"events":[' + b",".join(js.dumps(e) for e in events) + b'],"summary":' + orjson.dumps(
        summary.to_dict()) + b"}\n"
