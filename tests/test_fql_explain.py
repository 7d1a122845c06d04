"""Trigger.explain: the trigger clause by clause for one event (value found at each path, true/false, how
Segment combined them), with the same result as the compiled predicate."""

from __future__ import annotations

from typing import Any

import pytest

from ld_segment_cli import fql
from ld_segment_cli.js import UNDEFINED


def _explain(trigger: str, event: Any) -> tuple[bool, list[str]]:
    compiled = fql.compile_trigger(trigger)
    explanation = compiled.explain(event)
    assert explanation.result is compiled.predicate(event)
    return explanation.result, explanation.lines()


def test_single_condition_shows_the_value_found_and_the_outcome():
    result, lines = _explain('type = "track"', {"type": "track", "event": "x"})
    assert result is True
    assert lines == ['✓ type = "track" — type is "track" → true']


def test_missing_field_reads_undefined():
    result, lines = _explain('event != "Order Completed"', {"type": "track"})
    assert result is True
    assert lines == ['✓ event != "Order Completed" — event is undefined → true']


def test_groups_show_each_clause_indented_and_segments_grouping():
    result, lines = _explain(
        'type = "track" and (event = "a" or event = "b")', {"type": "track", "event": "b"}
    )
    assert result is True
    assert lines == [
        "✓ and: all must be true (2 of 2 true) → true",
        '  ✓ type = "track" — type is "track" → true',
        "  ✓ or: at least one must be true (1 of 2 true) → true",
        '    ✗ event = "a" — event is "b" → false',
        '    ✓ event = "b" — event is "b" → true',
        'Segment\'s grouping: type = "track" and (event = "a" or event = "b") → true',
    ]


def test_mixed_connectives_state_that_the_last_one_applies_to_all():
    trigger = 'type = "track" and event = "a" or event = "b"'
    result, lines = _explain(trigger, {"type": "identify", "event": "b"})
    assert result is True
    assert "Segment applies the last one, `or`, to all 3 (no precedence)" in lines[0]
    assert lines[-1] == 'Segment\'s grouping: type = "track" or event = "a" or event = "b" → true'


def test_no_connective_is_stated_as_and():
    _, lines = _explain('type = "a" event = "b"', {"type": "a", "event": "b"})
    assert "no connective is written here, so Segment uses `and`" in lines[0]


def test_clauses_after_the_deciding_one_are_marked_not_evaluated():
    result, lines = _explain(
        'properties.price >= 100 and contains(properties.name, "Nike")',
        {"properties": {"price": "150", "name": "Air Nike"}},
    )
    assert result is False
    assert lines[1] == (
        '  ✗ properties.price >= 100 — properties.price is "150" → false '
        "(a string is never compared as a number)"
    )
    assert lines[2].startswith('  · contains(properties.name, "Nike") — properties.name is "Air Nike" → true')
    assert lines[2].endswith("(not evaluated: the group was already decided)")


@pytest.mark.parametrize(
    ("trigger", "event", "line"),
    [
        ('properties.v = "123"', {"properties": {"v": 123}}, "is 123 → false (a number, not the string)"),
        ("properties.v = true", {"properties": {"v": "true"}}, 'is "true" → false (a string, not a boolean)'),
        ('contains(properties.v, "a")', {"properties": {"v": ["a"]}}, "(an array, not a string)"),
        ("userId != null", {"userId": None}, "✗ userId != null — userId is null → false"),
    ],
)
def test_false_comparisons_name_the_javascript_typing_rule(trigger: str, event: Any, line: str):
    result, lines = _explain(trigger, event)
    assert result is False
    assert line in lines[0]


def test_path_walk_that_stops_at_a_falsy_value_says_so():
    result, lines = _explain("properties.a.b = null", {"properties": {"a": 0}})
    assert result is False
    assert lines == [
        "✗ properties.a.b = null — properties.a is 0, so the walk stops there and properties.a.b is 0 → false"
    ]


def test_single_quoted_value_is_shown_with_the_quotes_segment_keeps():
    result, lines = _explain("type = 'track'", {"type": "track"})
    assert result is False
    assert lines == ['✗ type = "\'track\'" — type is "track" → false']


def test_match_is_shown_as_the_test_segment_performs():
    _, lines = _explain('match(event, "abc")', {"event": "xbc"})
    assert lines == ['✓ match(event, "*bc") — event is "xbc" → true']


def test_empty_group_that_is_reached_throws_and_the_event_is_not_sent():
    result, lines = _explain('type = "a" and ()', {"type": "a"})
    assert result is False
    assert lines[0] == "✗ and: all must be true (1 of 2 true) → throws a TypeError (not sent)"
    assert "empty group: Segment's evaluator throws a TypeError" in lines[2]


def test_empty_group_that_is_not_reached_does_not_throw():
    result, lines = _explain('type = "a" or ()', {"type": "a"})
    assert result is True
    assert lines[2] == "  · () empty group: not reached, so Segment does not throw"


def test_unparseable_trigger_explains_the_error_and_never_matches():
    result, lines = _explain('type = "x', {"type": "x"})
    assert result is False
    assert len(lines) == 1
    assert lines[0].startswith("✗ Segment cannot parse this trigger (column 8: Cannot read properties of")
    assert lines[0].endswith("so it never matches any event")


def test_undefined_and_non_object_events():
    never = ["✗ the event is undefined: Segment never matches it"]
    assert _explain("userId != null", UNDEFINED) == (False, never)
    result, lines = _explain("properties.value = null", "")
    assert result is True
    assert lines[0] == '· the event is not an object (""): every field reads undefined'


def test_long_values_are_shortened():
    _, lines = _explain('properties.v = "x"', {"properties": {"v": "y" * 500}})
    assert len(lines[0]) < 160 and "…" in lines[0]


def test_every_line_carries_a_mark_render_can_colour():
    _, lines = _explain(
        'type = "track" and (event = "a" or event = "b")', {"type": "track", "event": "c"}
    )
    assert all(line.lstrip()[0] in "✓✗·" for line in lines[:-1])
