"""The streaming engine: input lines → parsed events → triggers → mappings → outcomes (built / filtered / rejected).
Outcomes are values, not exceptions; the summary accounts for every line read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from . import fql
from .actions import MapError
from .config import Destination, Mapping
from .mapping_kit import MappingError
from .sources import Line, ReadFailure

PARSE, MAP, DELIVER = "parse", "map", "deliver"


@dataclass(frozen=True, slots=True)
class Reject:
    stage: str
    mapping: str | None
    reason: str


@dataclass(slots=True)
class Outcome:
    """What became of one input line: the outgoing events it built and the rejects it produced."""

    source: str
    line: int
    raw: bytes
    event: Any = None
    built: list[tuple[Mapping, dict[str, Any]]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    excluded: bool = False  # dropped by --where before any mapping

    @property
    def status(self) -> str:
        """'built' if any event was built, 'rejected' if a mapping fired and all failed, else 'filtered'."""
        if self.built:
            return "built"
        if self.rejects:
            return "rejected"
        return "filtered"


def parse_line(raw: bytes) -> tuple[Any, str | None]:
    """Parse one line into an event object, or explain in one sentence why it is not one."""
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc}"
    if type(event) is not dict:
        kind = "an array" if isinstance(event, list) else f"a {type(event).__name__}"
        if event is None:
            kind = "null"
        elif isinstance(event, bool):
            kind = "a boolean"
        elif isinstance(event, int | float):
            kind = "a number"
        elif isinstance(event, str):
            kind = "a string"
        return None, f"the line is {kind}, not a JSON object"
    return event, None


class Engine:
    """Applies a destination's mappings to events. Built once per run; process() is the hot path."""

    def __init__(self, destination: Destination, where: fql.Trigger | None = None) -> None:
        self.destination = destination
        self.mappings = destination.mappings
        self._where = where.predicate if where is not None else None
        self._fired = tuple((m, m.trigger.predicate, m.build, m.name) for m in destination.mappings)

    def apply(self, event: Any, outcome: Outcome) -> None:
        """Run every mapping whose trigger matches `event`, in file order, recording into outcome."""
        for mapping, predicate, build, name in self._fired:
            if predicate(event):
                try:
                    outcome.built.append((mapping, build(event)))
                except MapError as exc:
                    outcome.rejects.append(Reject(MAP, name, exc.message))
                except MappingError as exc:
                    outcome.rejects.append(Reject(MAP, name, exc.message))

    def process(self, item: Line | ReadFailure) -> Outcome:
        if isinstance(item, ReadFailure):
            return Outcome(item.source, item.number, item.raw, rejects=[Reject(PARSE, None, item.reason)])
        outcome = Outcome(item.source, item.number, item.raw)
        event, error = parse_line(item.raw)
        if error is not None:
            outcome.rejects.append(Reject(PARSE, None, error))
            return outcome
        outcome.event = event
        if self._where is not None and not self._where(event):
            outcome.excluded = True
            return outcome
        self.apply(event, outcome)
        return outcome

    def run(self, items: Iterable[Line | ReadFailure]) -> Iterator[Outcome]:
        process = self.process
        for item in items:
            yield process(item)


@dataclass(slots=True)
class MappingStats:
    matched: int = 0
    built: int = 0
    rejected: int = 0


@dataclass(slots=True)
class Summary:
    """Counts that account for every input line: built + filtered + excluded + rejected = lines read."""

    lines: int = 0
    built_lines: int = 0
    filtered: int = 0
    excluded: int = 0
    rejected_lines: int = 0
    rejected_by_stage: Counter[str] = field(default_factory=Counter)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    per_mapping: dict[str, MappingStats] = field(default_factory=dict)
    events_by_kind: Counter[str] = field(default_factory=Counter)
    events_by_key: Counter[str] = field(default_factory=Counter)
    events: int = 0
    first_creation: int | None = None
    last_creation: int | None = None

    def add(self, outcome: Outcome) -> None:
        self.lines += 1
        status = outcome.status
        if outcome.excluded:
            self.excluded += 1
        elif status == "built":
            self.built_lines += 1
        elif status == "filtered":
            self.filtered += 1
        else:
            self.rejected_lines += 1
        for reject in outcome.rejects:
            self.rejected_by_stage[reject.stage] += 1
            self.rejected_by_reason[_reason_class(reject.reason)] += 1
            if reject.mapping is not None:
                stats = self._stats(reject.mapping)
                stats.matched += 1
                stats.rejected += 1
        for mapping, event in outcome.built:
            stats = self._stats(mapping.name)
            stats.matched += 1
            stats.built += 1
            self.events += 1
            self.events_by_kind[event.get("kind", "?")] += 1
            self.events_by_key[str(event.get("key", "?"))] += 1
            created = event.get("creationDate")
            if isinstance(created, int):
                if self.first_creation is None or created < self.first_creation:
                    self.first_creation = created
                if self.last_creation is None or created > self.last_creation:
                    self.last_creation = created

    def _stats(self, name: str) -> MappingStats:
        stats = self.per_mapping.get(name)
        if stats is None:
            stats = self.per_mapping[name] = MappingStats()
        return stats

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines_read": self.lines,
            "lines_built": self.built_lines,
            "lines_filtered": self.filtered,
            "lines_excluded_by_where": self.excluded,
            "lines_rejected": self.rejected_lines,
            "rejects_by_stage": dict(self.rejected_by_stage),
            "rejects_by_reason": dict(self.rejected_by_reason),
            "mappings": {k: {"matched": v.matched, "built": v.built, "rejected": v.rejected}
                         for k, v in self.per_mapping.items()},
            "events": self.events,
            "events_by_kind": dict(self.events_by_kind),
            "events_by_key": dict(self.events_by_key),
            "creation_date_min": self.first_creation,
            "creation_date_max": self.last_creation,
        }


def _reason_class(reason: str) -> str:
    """Group reasons for the summary: the text before the first colon ('invalid JSON: ...' → 'invalid JSON')."""
    head, sep, _ = reason.partition(": ")
    return head if sep and len(head) < 60 else reason


class RejectsWriter:
    """NDJSON of every input that was not mapped/delivered, with the reason (cli.md 'The rejects file')."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        self._stream = stream
        self.count = 0

    def write(self, source: str, line: int, raw: bytes, reject: Reject) -> None:
        self.count += 1
        if self._stream is None:
            return
        record = {
            "source": source,
            "line": line,
            "stage": reject.stage,
            "mapping": reject.mapping,
            "reason": reject.reason,
            "raw": raw.decode("utf-8", errors="replace"),
        }
        self._stream.write(orjson.dumps(record) + b"\n")

    def write_outcome(self, outcome: Outcome) -> None:
        for reject in outcome.rejects:
            self.write(outcome.source, outcome.line, outcome.raw, reject)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.flush()
