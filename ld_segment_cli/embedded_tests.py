"""The `tests:` cases of a mappings file: each input event through the compiled mappings, compared with the
outgoing events the author expects (key order ignored, JSON types exact)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from . import js
from .config import Destination, TestCase
from .diff import EventChange, pair_events
from .pipeline import Engine, Outcome


@dataclass(frozen=True, slots=True)
class TestResult:
    case: TestCase
    actual: list[dict[str, Any]]
    rejects: list[str]
    changes: tuple[EventChange, ...]

    @property
    def passed(self) -> bool:
        return not self.changes


def _canonical(value: Any) -> bytes:
    """JSON with sorted keys, after JSON.stringify's number rules: `1` and `1.0` agree, `true` and `1` do not."""
    return orjson.dumps(orjson.loads(js.dumps(value)), option=orjson.OPT_SORT_KEYS)


def run_case(engine: Engine, case: TestCase) -> TestResult:
    outcome = Outcome("<test>", case.line or 0, b"")
    outcome.event = case.event
    engine.apply(case.event, outcome)
    actual = [event for _, event in outcome.built]
    rejects = [f"{r.mapping}: {r.reason}" for r in outcome.rejects]
    expected = case.expect
    same = len(actual) == len(expected) and all(
        _canonical(a) == _canonical(e) for a, e in zip(actual, expected, strict=True))
    changes: tuple[EventChange, ...] = ()
    if not same:
        before = [(f"event #{i + 1}", orjson.loads(js.dumps(e))) for i, e in enumerate(expected)]
        after = [(f"event #{i + 1}", a) for i, a in enumerate(actual)]
        changes = tuple(pair_events(before, after)) or (EventChange("changed", "(event order)", None, None),)
    return TestResult(case, actual, rejects, changes)


def run_tests(destination: Destination) -> list[TestResult]:
    engine = Engine(destination)
    return [run_case(engine, case) for case in destination.tests]
