"""Structural diff of outgoing LaunchDarkly events: one input event through two mapping files, or an embedded
test's expected events against the actual ones. Streams: per-line results plus bounded aggregate counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import js

MAX_TRACKED_KEYS = 10_000  # distinct event keys tracked for gained/lost totals (bounded memory on huge exports)


def count_keys(counter: Counter[str], counts: Counter[str]) -> None:
    """Add counts already keyed by String(key) (another part's counter): one C-level update while the bound
    cannot be passed, else key by key."""
    if len(counter) + len(counts) <= MAX_TRACKED_KEYS:
        counter.update(counts)
    else:
        for key, n in counts.items():
            count_key(counter, key, n)


def count_each(counter: Counter[str], keys: Sequence[str]) -> None:
    """Count event keys already written as String(key), in order: one C-level update while the bound cannot
    be passed, else key by key."""
    if len(counter) + len(keys) <= MAX_TRACKED_KEYS:
        counter.update(keys)
    else:
        for key in keys:
            count_key(counter, key)


def count_key(counter: Counter[str], key: Any, n: int = 1) -> None:
    """Count an event key as String(key), tracking at most MAX_TRACKED_KEYS distinct keys (bounded memory)."""
    text = key if type(key) is str else js.to_string(key)
    if text in counter or len(counter) < MAX_TRACKED_KEYS:
        counter[text] += n


@dataclass(frozen=True, slots=True)
class FieldChange:
    op: str  # "added" | "removed" | "changed"
    path: str  # dotted path inside the event, e.g. "contextKeys.user"
    old: Any = js.UNDEFINED
    new: Any = js.UNDEFINED


@dataclass(frozen=True, slots=True)
class EventChange:
    """One outgoing event that changed, appeared or disappeared."""

    status: str  # "changed" | "appeared" | "disappeared"
    mapping: str  # the mapping that produced it (after, else before)
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class LineDiff:
    source: str
    line: int
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]
    changes: tuple[EventChange, ...]

    def record(self) -> dict[str, Any]:
        """The NDJSON record cli.md specifies for a changed event."""
        return {"source": self.source, "line": self.line, "before": self.before, "after": self.after}


def _join(prefix: str, key: str | int) -> str:
    return f"{prefix}[{key}]" if isinstance(key, int) else (f"{prefix}.{key}" if prefix else str(key))


def field_changes(before: Any, after: Any, prefix: str = "") -> list[FieldChange]:
    """Added / removed / changed leaves between two JSON values (objects recursed, other values compared whole)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[FieldChange] = []
        for key, old in before.items():
            path = _join(prefix, key)
            if key not in after:
                out.append(FieldChange("removed", path, old=old))
            else:
                out.extend(field_changes(old, after[key], path))
        out.extend(FieldChange("added", _join(prefix, k), new=v) for k, v in after.items() if k not in before)
        if not out and list(before) != list(after):
            out.append(FieldChange("changed", prefix or "(event)", old=f"key order {list(before)}",
                                   new=f"key order {list(after)}"))
        return out
    if js.dumps(before) == js.dumps(after):
        return []
    return [FieldChange("changed", prefix or "(value)", old=before, new=after)]


def pair_events(before: list[tuple[str, dict[str, Any]]], after: list[tuple[str, dict[str, Any]]]
                ) -> list[EventChange]:
    """Match events by mapping name (in order), then by kind, and describe what differs.

    Events that match no counterpart appear or disappear. Identical pairs are omitted."""
    left = list(before)
    right = list(after)
    pairs: list[tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = []
    for match in (lambda a, b: a[0] == b[0], lambda a, b: a[1].get("kind") == b[1].get("kind")):
        for a in list(left):
            for b in right:
                if match(a, b):
                    pairs.append((a, b))
                    left.remove(a)
                    right.remove(b)
                    break
    changes: list[EventChange] = []
    for (_, old), (name, new) in pairs:
        diffs = field_changes(old, new)
        if diffs:
            changes.append(EventChange("changed", name, old, new, tuple(diffs)))
    changes.extend(EventChange("disappeared", name, old, None) for name, old in left)
    changes.extend(EventChange("appeared", name, None, new) for name, new in right)
    return changes


def diff_line(source: str, line: int, before: list[tuple[str, dict[str, Any]]],
              after: list[tuple[str, dict[str, Any]]]) -> LineDiff | None:
    """The difference for one input line, or None when both sides send exactly the same bytes."""
    if [js.dumps(e) for _, e in before] == [js.dumps(e) for _, e in after]:
        return None
    changes = pair_events(before, after)
    if not changes:  # same events in another order
        changes = [EventChange("changed", "(order)", None, None, (FieldChange("changed", "(event order)"),))]
    return LineDiff(source, line, [e for _, e in before], [e for _, e in after], tuple(changes))


@dataclass(slots=True)
class DiffTotals:
    """Aggregate counts over a whole diff run; memory bounded by distinct field paths and event keys."""

    lines: int = 0
    lines_changed: int = 0
    events_changed: int = 0
    events_appeared: int = 0
    events_disappeared: int = 0
    fields: Counter[tuple[str, str]] = field(default_factory=Counter)  # (op, path) -> events
    keys_gained: Counter[str] = field(default_factory=Counter)
    keys_lost: Counter[str] = field(default_factory=Counter)
    rejected_before: int = 0
    rejected_after: int = 0

    def add(self, diff: LineDiff | None) -> None:
        self.lines += 1
        if diff is None:
            return
        self.lines_changed += 1
        for change in diff.changes:
            if change.status == "changed":
                self.events_changed += 1
                for fc in change.fields:
                    self.fields[(fc.op, fc.path)] += 1
                old_key = change.before.get("key") if change.before else None
                new_key = change.after.get("key") if change.after else None
                if old_key != new_key:
                    count_key(self.keys_lost, old_key)
                    count_key(self.keys_gained, new_key)
            elif change.status == "appeared":
                self.events_appeared += 1
                count_key(self.keys_gained, change.after.get("key") if change.after else None)
            else:
                self.events_disappeared += 1
                count_key(self.keys_lost, change.before.get("key") if change.before else None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines_read": self.lines,
            "lines_changed": self.lines_changed,
            "events_changed": self.events_changed,
            "events_appeared": self.events_appeared,
            "events_disappeared": self.events_disappeared,
            "fields": [{"op": op, "path": path, "events": n} for (op, path), n in self.fields.most_common()],
            "keys_gained": dict(self.keys_gained.most_common()),
            "keys_lost": dict(self.keys_lost.most_common()),
            "rejected_before": self.rejected_before,
            "rejected_after": self.rejected_after,
        }
