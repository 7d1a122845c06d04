"""fql.lint: a warning, with its column, wherever Segment's reading of a trigger differs from a person's
(fql.md R41), and silence where the two agree."""

from __future__ import annotations

import pytest

from ld_segment_cli import fql

# (trigger, expected (column, kind) pairs, a fragment each message must contain)
WARNINGS = [
    # mixed and/or: Segment applies the last connective of a level to all its conditions
    (
        'type = "track" and event = "a" or event = "b"',
        [(16, "mixed-and-or")],
        "joins all 3 conditions here with the last connective, `or`: "
        'type = "track" or event = "a" or event = "b"',
    ),
    (
        'type = "a" or type = "b" and event = "c"',
        [(12, "mixed-and-or")],
        "`and`: type = \"a\" and type = \"b\" and event = \"c\"",
    ),
    (
        '(event = "a" and type = "t" or type = "u") and userId != null',
        [(14, "mixed-and-or")],
        "joins all 3 conditions",
    ),
    # a function's ")" closes the group it sits in
    (
        'type = "track" and (contains(event, "x") or event = "y")',
        [(20, "nested-parens")],
        "at column 40 also closes this group (Segment's groups end at the first `)`), so the rest of the "
        'group is read outside it: Segment reads type = "track" or contains(event, "x") or event = "y"',
    ),
    (
        '(match(event, "a*") or event = "b") and type = "t"',
        [(1, "nested-parens")],
        'Segment reads match(event, "a*") and event = "b" and type = "t"',
    ),
    # tokens Segment drops
    ('not type = "a"', [(1, "dropped-not")], "NOT negated"),
    ('!(type = "a")', [(1, "dropped-not")], "only negates contains() and match()"),
    ('type = "t" and !event = "a"', [(16, "dropped-not")], "NOT negated"),
    ('type = "a" OR type = "b"', [(12, "uppercase-connective")], "joins these conditions with `and`"),
    ('type = "a" or type = "b" And event = "c"', [(26, "uppercase-connective")], "with `or`"),
    ('anonymousId != null and type = "track"', [(1, "unsupported-field")], "`anonymousId` is not a field"),
    ('type = "track" and messageId = "m1"', [(20, "unsupported-field")], "silently dropped"),
    ('Type = "track" and event = "x"', [(1, "unsupported-field")], "`Type` is not `type`"),
    ('contains(type, "x") or event = "y"', [(10, "unsupported-field")], "contains() on `type`"),
    ("properties = null", [(1, "unsupported-field")], "(properties.properties)"),
    ('event.name = "x"', [(1, "unsupported-field")], "ignores `.name` after `event`"),
    ('contains(propertiesx, "a")', [(10, "unsupported-field")], "the key `propertiesx` inside properties"),
    # quotes, spacing, match patterns
    ("type = 'track'", [(8, "single-quotes")], "compares with 'track' quotes included"),
    ("match(event, 'X*')", [(14, "single-quotes")], "ends with `X*'`"),
    ("properties.price >=100", [(18, "operator-spacing")], "write `>= 100`"),
    ("properties.price <=9.5", [(18, "operator-spacing")], "write `<= 9.5`"),
    ('type = "a" or(type = "b")', [(12, "operator-spacing")], "`or` needs a space before `(`"),
    ('match(event, "abc")', [(14, "match-pattern")], 'drops the first character `a` and tests whether the '
     'value ends with "bc"'),
    ('match(event, "a*b")', [(14, "match-pattern")], 'ends with "*b"'),
    ('match(event, "*a*")', [(14, "match-pattern")], 'starts with "*a"'),
    ('match(event, "*a?")', [(14, "match-pattern")], 'ends with "a?"'),
    ('match(event, "")', [(14, "match-pattern")], 'ends with ""'),
    ("match(event, 5)", [(14, "match-pattern")], "needs a double-quoted pattern"),
    # comparisons that are not what they look like
    ('type == "track"', [(6, "bad-comparison")], "`==` is not an operator"),
    ("type = ", [(6, "bad-comparison")], 'the text "eos"'),
    ("properties.list.0 = 1", [(16, "bad-comparison")], "escape it, e.g. properties.list.\\0"),
    ('contains(event "x")', [(16, "bad-comparison")], "expected `,` here"),
    ("event = null", [(9, "literal-as-text")], "does not test whether `event` is missing"),
    ("event != null", [(10, "literal-as-text")], "`!= null` is true when it is"),
    ("name = true", [(8, "literal-as-text")], "for the boolean true"),
    ("properties.flag != true", [(17, "literal-as-text")], "the boolean true included"),
    ("userId = NULL", [(10, "literal-as-text")], "`NULL` is not `null`"),
    ("properties.n > true", [(16, "literal-as-text")], "`true` becomes 1"),
    ('properties.a\\.b = "x"', [(1, "escaped-dot")], "walks nested keys"),
    # grouping Segment cannot evaluate, or joins differently
    ('type = "a" and ()', [(16, "empty-group")], "throws a TypeError"),
    ('type = "a" type = "b" or event = "c"', [(12, "missing-connective")], "`or`, not `and`"),
    ('type = "a" "b"', [(12, "ignored-token")], '`"b"` starts no condition'),
    ('type = "a")', [(11, "ignored-token")], "this `)` closes no group"),
    # more than one at once, in column order
    (
        "not type = 'a' OR event = \"b\"",
        [(1, "dropped-not"), (12, "single-quotes"), (16, "uppercase-connective")],
        "NOT negated",
    ),
]


@pytest.mark.parametrize(("trigger", "expected", "fragment"), WARNINGS, ids=[w[0] for w in WARNINGS])
def test_warning_names_kind_column_and_segments_reading(
    trigger: str, expected: list[tuple[int, str]], fragment: str
):
    assert fql.compile_trigger(trigger).error is None
    warnings = fql.lint(trigger)
    assert [(w.column, w.kind) for w in warnings] == expected
    assert any(fragment in w.message for w in warnings), [w.message for w in warnings]
    for w in warnings:
        assert w.message and "\n" not in w.message


CLEAN = [
    'type = "track"',
    'type = "identify" or type = "alias"',
    'type = "track" and event != "Order Completed"',
    'type = "track" and (event = "Product Added" or event = "Order Completed")',
    '(event = "Product Added" and properties.price >= 100) or '
    '(event = "Order Completed" and properties.total >= 500)',
    'event = "Product Added" and properties.price >= 100 and properties.premium = "true"',
    'type = "a" AND type = "b"',  # upper-case AND is dropped, but `and` is what Segment uses anyway
    'type = "a" and(type = "b")',  # likewise
    '(event = "y" or contains(event, "x"))',  # the function is last in its group: same meaning
    '(event = "y" or contains(event, "x")) and type = "t"',
    'type = "track" and ( event = "Click" or match( event, "Button *" ) )',
    'contains(event, "Nike") and !contains(properties.name, "Adidas")',
    'match(event, "X*") or match(context.page.path, "*/checkout") or match(event, "*")',
    "userId != null and traits.logins >= 10 and traits.vip = true and properties.n = 0",
    "properties.product\\ 1 = \"x\"",
    'name = null or name = "Home"',
    'type = "a" event = "b"',  # no connective: Segment uses `and`, as a reader would
]


@pytest.mark.parametrize("trigger", CLEAN)
def test_triggers_segment_reads_as_written_give_no_warning(trigger: str):
    assert fql.compile_trigger(trigger).error is None
    assert fql.lint(trigger) == []


def test_trigger_segment_cannot_parse_gives_an_error_and_no_warnings():
    text = "type = 'track' and userId!=null"
    assert fql.compile_trigger(text).error is not None
    assert fql.lint(text) == []


def test_lint_returns_a_fresh_list_each_call():
    text = "type = 'track'"
    first = fql.lint(text)
    first.clear()
    assert len(fql.lint(text)) == 1


def test_columns_count_characters_not_utf16_units():
    warnings = fql.lint('event = "\U0001f600" or event = \'x\'')
    assert [(w.column, w.kind) for w in warnings] == [(24, "single-quotes")]
