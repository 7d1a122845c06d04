"""The streaming engine: input lines → parsed events → input filters → triggers → mappings → outcomes.
Outcomes are values, not exceptions; the summary accounts for every line read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import IO, Any, Final

import orjson

from . import fql
from .actions import Emitted, MapError
from .config import Destination, Mapping
from .decode import SHALLOW, Projection, parse_line
from .dedupe import MASK64, SMALL_IDS, SeenIds
from .diff import count_each, count_key, count_keys
from .mapping_kit import event_roots
from .mapping_kit.dates import dayjs_ms
from .sources import Block, Line, ReadFailure

PARSE, MAP, DELIVER = "parse", "map", "deliver"
KIND_OF_ACTION = {"trackEvent": "custom", "aliasUser": "alias"}

# Why an event was set aside before any mapping saw it (counted in the summary, never an error).
DUPLICATE, OUTSIDE_WINDOW, EXCLUDED = "duplicate", "window", "where"


@dataclass(frozen=True, slots=True)
class Reject:
    stage: str
    mapping: str | None
    reason: str

    def __reduce__(self) -> tuple[type[Reject], tuple[str, str | None, str]]:
        return Reject, (self.stage, self.mapping, self.reason)  # a worker's rejects: a plain tuple, fast to pickle


@dataclass(slots=True)
class Outcome:
    """What became of one input line: the outgoing events it built and the rejects it produced."""

    source: str
    line: int
    raw: bytes
    event: Any = None
    built: list[tuple[Mapping, dict[str, Any]]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    skipped: str | None = None  # DUPLICATE / OUTSIDE_WINDOW / EXCLUDED: set aside before the mappings

    def __reduce__(self) -> tuple[type[Outcome], tuple[Any, ...]]:
        return Outcome, (self.source, self.line, self.raw, self.event, self.built, self.rejects, self.skipped)

    @property
    def excluded(self) -> bool:
        return self.skipped is not None

    @property
    def status(self) -> str:
        """'built' if any event was built, 'rejected' if a mapping fired and all failed, else 'filtered'."""
        if self.built:
            return "built"
        if self.rejects:
            return "rejected"
        return "filtered"


class Engine:
    """Applies a destination's mappings to events. Built once per run; holds the run's de-duplication state.

    process() makes one Outcome per line for the views; map_block() is the hot path for NDJSON and send."""

    def __init__(self, destination: Destination, where: fql.Trigger | None = None, *,
                 since_ms: int | None = None, until_ms: int | None = None, dedupe: bool = False) -> None:
        self.destination = destination
        self.mappings = destination.mappings
        self._where = where.predicate if where is not None else None
        self._since = since_ms
        self._until = until_ms
        self._window = since_ms is not None or until_ms is not None
        self.seen: SeenIds | None = SeenIds() if dedupe else None
        self._fired = tuple((m, m.trigger.predicate, m.build, m.name) for m in destination.mappings)
        # The hot path's view of the mappings: (index, emit, one-field key, its texts, predicate), the trigger
        # tested inline when it is one field's equality. When every trigger tests the same field (the presets:
        # `type`), a table from that field's text to the mappings it fires replaces the tests.
        self._hot = tuple((i, m.emit, *(m.trigger.equals or (None, None)), m.trigger.predicate)
                          for i, m in enumerate(destination.mappings))
        self._dispatch: tuple[str, dict[str, tuple[Any, ...]]] | None = None
        fields = {m.trigger.equals[0] if m.trigger.equals else None for m in destination.mappings}
        if len(fields) == 1 and None not in fields:
            texts = {text for m in destination.mappings for text in m.trigger.equals[1]}  # type: ignore[index]
            self._dispatch = (fields.pop(), {text: tuple((i, emit, None, None, None) for i, emit, _, of, _ in self._hot
                                                         if text in of) for text in texts})
        self.reads = self.read_keys(where)
        self._projection = Projection(self.reads) if self.reads is not None else None

    def read_keys(self, where: fql.Trigger | None) -> frozenset[str] | None:
        """Every top-level key of an event that this run can read (triggers, mappings, --where, the messageId
        of --dedupe, the timestamp of --since/--until), or None when a mapping's reads are not known
        before the event is seen (map_block then reads whole events)."""
        keys = set(where.roots) if where is not None else set()
        if self.seen is not None:
            keys.add("messageId")
        if self._window:
            keys.add("timestamp")
        for mapping in self.mappings:
            roots = event_roots(mapping.mapping)
            if roots is None:
                return None
            keys |= roots | mapping.trigger.roots
        return frozenset(keys)

    def expect(self, events: int, small_ids: int = SMALL_IDS) -> None:
        """Size the (still empty) messageId table for about this many events, so that it need not grow on the
        way (a grow re-inserts every id: ~0.3 µs each, in Python); the first `small_ids` ids go into a set."""
        if self.seen is not None and not len(self.seen):
            self.seen = SeenIds(capacity=max(1 << 16, 2 * events), small_limit=small_ids)  # grows at half load

    def apply(self, event: Any, outcome: Outcome) -> None:
        """Run every mapping whose trigger matches `event`, in file order, recording into outcome."""
        for mapping, predicate, build, name in self._fired:
            if predicate(event):
                try:
                    outcome.built.append((mapping, build(event)))
                except MapError as exc:
                    outcome.rejects.append(Reject(MAP, name, exc.message))

    def screen(self, event: dict[str, Any]) -> tuple[str | None, str | None]:
        """The input filters, in order: duplicate messageId, --since/--until, --where.
        Returns (skip kind, None) to set the event aside, (None, reason) to reject it, or (None, None)."""
        seen = self.seen
        if seen is not None:
            mid = event.get("messageId")
            if type(mid) is str and not seen.add_id(mid):
                return DUPLICATE, None
        if self._window:
            ms = dayjs_ms(event.get("timestamp"))
            if ms is None:
                return None, "timestamp is missing or not a date, so --since/--until cannot place the event"
            if (self._since is not None and ms < self._since) or (self._until is not None and ms >= self._until):
                return OUTSIDE_WINDOW, None
        if self._where is not None and not self._where(event):
            return EXCLUDED, None
        return None, None

    def process(self, item: Line | ReadFailure) -> Outcome:
        if isinstance(item, ReadFailure):
            return Outcome(item.source, item.number, item.raw, rejects=[Reject(PARSE, None, item.reason)])
        outcome = Outcome(item.source, item.number, item.raw)
        event, error = parse_line(item.raw)
        if error is not None:
            outcome.rejects.append(Reject(PARSE, None, error))
            return outcome
        outcome.event = event
        skip, error = self.screen(event)
        if error is not None:
            outcome.rejects.append(Reject(PARSE, None, error))
        elif skip is not None:
            outcome.skipped = skip
        else:
            self.apply(event, outcome)
        return outcome

    def run(self, items: Iterable[Line | ReadFailure]) -> Iterator[Outcome]:
        process = self.process
        for item in items:
            yield process(item)

    def map_block(self, block: Block, out: list[bytes], summary: Summary, rejected: list[Outcome],
                  origins: list[int] | None = None, stop_at_parse_error: bool = False) -> bool:
        """The hot path: map every line of a block, appending each outgoing event's JSON.stringify bytes to
        `out` (and its line number to `origins` when given), counting into `summary`, and appending an
        Outcome to `rejected` for each line with a reject. Returns False if it stopped at a parse error."""
        source = block.source
        projection = self._projection  # the keys the run reads, decoded alone (see decode.Projection)
        read = projection.read if projection is not None else orjson.loads
        refused = Projection.REFUSED if projection is not None else orjson.JSONDecodeError
        sound = projection.sound if projection is not None else None
        screen = self.screen
        plain = self.seen is None and not self._window and self._where is None
        dedupe_only = self.seen is not None and not self._window and self._where is None
        seen_add = self.seen.add_id if self.seen is not None else None
        small = self.seen.open_set() if dedupe_only and self.seen is not None else None  # tested inline below
        small_add = small.add if small is not None else None
        record = self.seen.recording() if dedupe_only and self.seen is not None else None  # a --workers block
        fired = self._hot
        dispatch_key, dispatch = self._dispatch or (None, None)
        n = len(fired)
        matched = [0] * n
        built = [0] * n
        made: list[Emitted] = []  # this block's events, counted and written out at its end
        lines = filtered = built_lines = 0
        try:
            for number, raw in enumerate(block.lines, block.start):
                if not raw:
                    continue
                try:
                    event = read(raw)
                except refused:
                    event = None
                else:
                    if sound is not None and not (raw.isascii() and len(raw) <= SHALLOW) and not sound(raw):
                        event = None
                if type(event) is not dict:  # the reference decides (and explains)
                    if raw.isspace():
                        continue
                    event, error = parse_line(raw)
                    if error is not None:
                        outcome = Outcome(source, number, raw, rejects=[Reject(PARSE, None, error)])
                        summary.add(outcome)
                        rejected.append(outcome)
                        if stop_at_parse_error:
                            return False
                        continue
                if dedupe_only:  # the default: inlined, as it runs for every event
                    mid = event.get("messageId")
                    if type(mid) is str:
                        if small is not None:  # SeenIds.add_id while the ids are in a set
                            key = hash(mid) & MASK64 or 1
                            new = key not in small
                            if new:
                                small_add(key)
                        elif record is not None:  # workers._Recorder.add_id
                            record(hash(mid) & MASK64 or 1)
                            new = True
                        else:
                            new = seen_add(mid)
                        if not new:
                            outcome = Outcome(source, number, raw, event, skipped=DUPLICATE)
                            summary.add(outcome)
                            continue
                elif not plain:
                    skip, error = screen(event)
                    if skip is not None or error is not None:
                        outcome = Outcome(source, number, raw, event, skipped=skip)
                        if error is not None:
                            outcome.rejects.append(Reject(PARSE, None, error))
                            rejected.append(outcome)
                        summary.add(outcome)
                        continue
                lines += 1
                if dispatch is not None:
                    value = event.get(dispatch_key)
                    todo = dispatch.get(value, ()) if type(value) is str else ()
                    if not todo:
                        filtered += 1
                        continue
                else:
                    todo = fired
                before = len(made)
                failed: Outcome | None = None
                for i, emit, field_key, texts, predicate in todo:
                    if field_key is not None:  # the trigger's one-field test, without a call
                        value = event.get(field_key)
                        if type(value) is not str or value not in texts:
                            continue
                    elif predicate is not None and not predicate(event):
                        continue
                    matched[i] += 1
                    try:
                        made.append(emit(event))
                    except MapError as exc:
                        if failed is None:
                            failed = Outcome(source, number, raw, event)
                        failed.rejects.append(Reject(MAP, self._fired[i][3], exc.message))
                        continue
                    built[i] += 1
                    if origins is not None:
                        origins.append(number)
                if failed is not None:
                    rejected.append(failed)
                    summary.count_rejects(failed, matched_counted=True)
                    if len(made) == before:
                        summary.rejected_lines += 1
                        continue
                if len(made) > before:
                    built_lines += 1
                else:
                    filtered += 1
        finally:
            if small is not None:
                self.seen.settle()  # type: ignore[union-attr]
            summary.lines += lines
            summary.built_lines += built_lines
            summary.filtered += filtered
            if made:
                texts, keys, created = zip(*made, strict=True)
                out.extend(texts)
                count_each(summary.events_by_key, keys)
                first, last = min(created), max(created)
                if summary.first_creation is None or first < summary.first_creation:
                    summary.first_creation = first
                if summary.last_creation is None or last > summary.last_creation:
                    summary.last_creation = last
            for (mapping, _, _, name), m, b in zip(self._fired, matched, built, strict=True):
                if m:
                    stats = summary.stats(name)
                    stats.matched += m
                    stats.built += b
                    if b:
                        summary.events += b
                        summary.events_by_kind[KIND_OF_ACTION.get(mapping.action, mapping.action)] += b
        return True


MappedBlock = tuple[list[bytes], list[Outcome], "Summary", Outcome | None]
"""What one block became: outgoing event lines, the outcomes with rejects, its counts, and the outcome that
stopped a --fail-fast run (else None)."""


def map_block(engine: Engine, block: Block | ReadFailure, fail_fast: bool = False,
              into: Summary | None = None) -> MappedBlock:
    """One block (or one unreadable stretch of a source) through the engine, counted into `into` (the run's
    summary, in one process) or into a summary part of its own (returned, for a worker to hand back)."""
    part = Summary() if into is None else into
    if isinstance(block, Block):
        try:
            block.lines  # noqa: B018 - a block known by its span is read here (in a --workers process)
        except OSError as exc:  # the file went away or changed since the reader counted its lines
            block = ReadFailure(block.source, block.start,
                                f"read error after line {block.start - 1}: {exc.strerror or exc}")
    if isinstance(block, ReadFailure):
        outcome = engine.process(block)
        part.add(outcome)
        return [], [outcome], part, outcome if fail_fast else None
    out: list[bytes] = []
    rejected: list[Outcome] = []
    finished = engine.map_block(block, out, part, rejected, stop_at_parse_error=fail_fast)
    return out, rejected, part, None if finished else rejected[-1]


@dataclass(slots=True)
class MappingStats:
    matched: int = 0
    built: int = 0
    rejected: int = 0

    def __reduce__(self) -> tuple[type[MappingStats], tuple[int, int, int]]:
        return MappingStats, (self.matched, self.built, self.rejected)


@dataclass(slots=True)
class Summary:
    """Counts that account for every input line:
    lines = built + filtered + rejected + duplicates + outside the time window + excluded by --where."""

    lines: int = 0
    built_lines: int = 0
    filtered: int = 0
    excluded: int = 0
    duplicates: int = 0
    outside_window: int = 0
    rejected_lines: int = 0
    rejected_by_stage: Counter[str] = field(default_factory=Counter)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    per_mapping: dict[str, MappingStats] = field(default_factory=dict)
    events_by_kind: Counter[str] = field(default_factory=Counter)
    events_by_key: Counter[str] = field(default_factory=Counter)
    events: int = 0
    first_creation: int | None = None
    last_creation: int | None = None

    def __reduce__(self) -> tuple[type[Summary], tuple[Any, ...]]:
        """A worker hands back one part per block: its fields as a tuple pickle several times faster than
        dataclass state (a Python call per object on both ends)."""
        return Summary, tuple(getattr(self, name) for name in _SUMMARY_FIELDS)

    def add(self, outcome: Outcome) -> None:
        self.lines += 1
        skipped = outcome.skipped
        if skipped is not None:
            if skipped == DUPLICATE:
                self.duplicates += 1
            elif skipped == OUTSIDE_WINDOW:
                self.outside_window += 1
            else:
                self.excluded += 1
        elif outcome.built:
            self.built_lines += 1
        elif outcome.rejects:
            self.rejected_lines += 1
        else:
            self.filtered += 1
        if outcome.rejects:
            self.count_rejects(outcome)
        for mapping, event in outcome.built:
            stats = self.stats(mapping.name)
            stats.matched += 1
            stats.built += 1
            self.events += 1
            self.events_by_kind[event.get("kind", "?")] += 1
            count_key(self.events_by_key, event.get("key"))
            created = event.get("creationDate")
            if isinstance(created, int):
                self.widen_creation(created)

    def widen_creation(self, created: int) -> None:
        if self.first_creation is None or created < self.first_creation:
            self.first_creation = created
        if self.last_creation is None or created > self.last_creation:
            self.last_creation = created

    def count_rejects(self, outcome: Outcome, matched_counted: bool = False) -> None:
        for reject in outcome.rejects:
            self.rejected_by_stage[reject.stage] += 1
            self.rejected_by_reason[reason_class(reject.reason)] += 1
            if reject.mapping is not None:
                stats = self.stats(reject.mapping)
                stats.rejected += 1
                if not matched_counted:
                    stats.matched += 1

    def stats(self, name: str) -> MappingStats:
        stats = self.per_mapping.get(name)
        if stats is None:
            stats = self.per_mapping[name] = MappingStats()
        return stats

    def merge(self, other: Summary) -> None:
        """Add another part's counts (a worker's share of the input)."""
        for name in ("lines", "built_lines", "filtered", "excluded", "duplicates", "outside_window",
                     "rejected_lines", "events"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejected_by_stage.update(other.rejected_by_stage)
        self.rejected_by_reason.update(other.rejected_by_reason)
        self.events_by_kind.update(other.events_by_kind)
        count_keys(self.events_by_key, other.events_by_key)
        for name, theirs in other.per_mapping.items():
            ours = self.stats(name)
            ours.matched += theirs.matched
            ours.built += theirs.built
            ours.rejected += theirs.rejected
        for value in (other.first_creation, other.last_creation):
            if value is not None:
                self.widen_creation(value)

    def line(self) -> str:
        """The summary as one plain line (for stderr that is not a terminal)."""
        text = (f"ld-segment: {self.lines} lines read: {self.built_lines} built {self.events} events, "
                f"{self.filtered} matched no mapping, {self.rejected_lines} rejected")
        for n, what in ((self.duplicates, "duplicates"), (self.outside_window, "outside --since/--until"),
                        (self.excluded, "excluded by --where")):
            if n:
                text += f", {n} {what}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines_read": self.lines,
            "lines_built": self.built_lines,
            "lines_filtered": self.filtered,
            "lines_duplicate": self.duplicates,
            "lines_outside_time_window": self.outside_window,
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


_SUMMARY_FIELDS: Final = tuple(f.name for f in fields(Summary))


def reason_class(reason: str) -> str:
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
        """Flush; the stream belongs to whoever opened it (send keeps writing it after the engine is done)."""
        if self._stream is not None:
            self._stream.flush()
