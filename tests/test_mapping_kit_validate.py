"""mapping-kit.md section 11, kind "validate mapping" (M111-M129), and the validator rules MK7-MK9 and
MK36 through `validate_mapping` (the function config loading uses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from ld_segment_cli.mapping_kit import (
    DIRECTIVES,
    MappingError,
    MappingProblem,
    compile_mapping,
    directive_sources,
    validate_mapping,
)

# (id, mapping JSON, expected Segment messages; () when valid)
VECTORS = [
    ("M111", '{"@arrayPath":"nope"}', ("/@arrayPath should be an array but it is a string.",)),
    ("M112", '{"@if":{"exists":true,"then":{"@oops":{}}}}', ("/@if/then has an invalid directive: @oops.",)),
    ("M113", '{"@path":false}', ("/@path should be a string or a mapping directive but it is a boolean.",)),
    (
        "M114",
        '{"@replace":{"value":{"@path":"$.a"}}}',
        ('/@replace should have field "pattern" but it doesn\'t.',),
    ),
    ("M115", '{"@replace":{"pattern":"bla"}}', ('/@replace should have field "value" but it doesn\'t.',)),
    (
        "M116",
        '{"@replace":{"pattern":"waaaaayyytoooooloooong","value":{"@path":"$.a"}}}',
        ("/@replace/pattern should be a string of length 10 or less.",),
    ),
    (
        "M117",
        '{"@replace":{"pattern":"w","replacement":"waaaayyyytooolong","value":{"@path":"$.a"}}}',
        ("/@replace/replacement should be a string of length 10 or less.",),
    ),
    (
        "M118",
        '{"@replace":{"pattern":"+","replacement":"-","value":{"@path":"$.a"},"global":"bla"}}',
        ("/@replace/global should be a boolean but it is a string.",),
    ),
    (
        "M119",
        '{"@replace":{"pattern":"+","replacement":"-","value":{"@path":"$.a"},"ignorecase":"bla"}}',
        ("/@replace/ignorecase should be a boolean but it is a string.",),
    ),
    (
        "M120",
        '{"@template":123}',
        ("/@template should be a string or a mapping directive but it is a number.",),
    ),
    ("M121", '{"@path":"$.foo","bar":"baz"}', ("/ should only have one @-prefixed key but it has 2 keys.",)),
    ("M122", '{"@path":"$.foo","@bar":"baz"}', ("/ should only have one @-prefixed key but it has 2 keys.",)),
    ("M123", '{"@oops":{}}', ("/ has an invalid directive: @oops.",)),
    (
        "M124",
        '{"obj":{"@path":"foo.bar","oops":true},"hash":{"@template":{}}}',
        (
            "/obj should only have one @-prefixed key but it has 2 keys.",
            "/hash/@template should be a string or a mapping directive but it is an object.",
        ),
    ),
    ("M125", '{"@template":"{{foo.bar}}","_metadata":{"type":"autocomplete","label":"X"}}', ()),
    ("M126", '{"@if":{"exists":1,"else":3}}', ()),
    ("M127", '{"@replace":{"pattern":"+","value":{"@path":"$.a"}}}', ()),
    ("M128", "[1,2]", ()),
    ("M129", '"foo"', ()),
]


def _error(action: Callable[[], Any]) -> str:
    """The message of the MappingError `action` raises (compared exactly, not as a pattern)."""
    with pytest.raises(MappingError) as caught:
        action()
    return caught.value.message


@pytest.mark.parametrize(("mapping", "expected"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_validate_mapping_vector(mapping: str, expected: tuple[str, ...]) -> None:
    assert [p.segment_message() for p in validate_mapping(orjson.loads(mapping))] == list(expected)


def _messages(mapping: Any) -> list[str]:
    return [p.segment_message() for p in validate_mapping(mapping)]


def test_problem_carries_path_message_and_hint() -> None:
    (problem,) = validate_mapping({"fields": {"user_key": {"@paht": "$.userId"}}})
    assert problem == MappingProblem(
        ("fields", "user_key"), "has an invalid directive: @paht", "did you mean '@path'?"
    )
    assert problem.segment_message() == "/fields/user_key has an invalid directive: @paht."


def test_directive_names_are_case_sensitive() -> None:
    (problem,) = validate_mapping({"@Path": "$.a"})
    assert problem.message == "has an invalid directive: @Path"
    assert problem.hint is not None and "@path" in problem.hint


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ({"@path": "a", "x": 1, "y": 2}, "/ should only have one @-prefixed key but it has 3 keys."),
        (
            {"@path": "a", "@b": 1, "@c": 2, "x": 1},
            "/ should only have one @-prefixed key but it has 3 keys.",
        ),
        ({"@if": "x"}, "/@if should be an object but it is a string."),
        ({"@if": []}, "/@if should be an object but it is an array."),
        ({"@if": None}, "/@if should be an object but it is a null."),
        ({"@if": {"@path": "$.x"}}, "/@if should be an object but it is a directive."),
        ({"@case": {"operator": 1, "value": "x"}}, "/@case/operator should be a string but it is a number."),
        (
            {"@case": {"operator": "lower", "value": 1}},
            "/@case/value should be a string or a mapping directive but it is a number.",
        ),
        (
            {"@replace": {"pattern": "", "value": "x"}},
            "/@replace/pattern should be a string of length 1 or greater.",
        ),
        (
            {"@replace": {"pattern": "a", "value": "x", "replacement": 1}},
            "/@replace/replacement should be a string but it is a number.",
        ),
        ({"@json": {"value": 1}}, '/@json should have field "mode" but it doesn\'t.'),
        ({"@json": {"mode": 1, "value": 1}}, "/@json/mode should be one of encode, decode but it is 1."),
        (
            {"@flatten": {"separator": {"@path": "$.s"}, "value": 1}},
            "/@flatten/separator should be a string but it is a directive.",
        ),
        ({"@flatten": {"separator": "."}}, '/@flatten should have field "value" but it doesn\'t.'),
        ({"@merge": {"direction": "right"}}, '/@merge should have field "objects" but it doesn\'t.'),
        (
            {"@merge": {"direction": "right", "objects": [[]]}},
            "/@merge/objects/0 should be a object or a mapping directive but it is an array.",
        ),
        (
            {"@merge": {"direction": "right", "objects": [{"a": {"@nope": 1}}]}},
            "/@merge/objects/0/a has an invalid directive: @nope.",
        ),
        ({"@transform": {"apply": {}}}, '/@transform should have field "mapping" but it doesn\'t.'),
        (
            {"@transform": {"apply": "x", "mapping": {}}},
            "/@transform/apply should be a object or a mapping directive but it is a string.",
        ),
        (
            {"@arrayPath": []},
            "/@arrayPath/0 should be a string or a mapping directive but it is an undefined.",
        ),
        ({"@arrayPath": [1]}, "/@arrayPath/0 should be a string or a mapping directive but it is a number."),
        ({"@arrayPath": ["$.a", {"x": {"@bad": 1}}]}, "/@arrayPath/1/x has an invalid directive: @bad."),
        ({"@excludeWhenNull": {"@oops": 1}}, "/@excludeWhenNull has an invalid directive: @oops."),
        ({"a": {"b": {"c": {"@if": 1}}}}, "/a/b/c/@if should be an object but it is a number."),
    ],
)
def test_validator_messages(mapping: Any, expected: str) -> None:
    assert _messages(mapping) == [expected]


def test_option_errors_are_reported_only_when_the_options_object_itself_is_valid() -> None:
    # Segment validates the options object as a mapping first and stops there when it has errors.
    assert _messages({"@replace": {"value": {"@oops": 1}}}) == [
        "/@replace/value has an invalid directive: @oops."
    ]


def test_all_option_errors_are_collected() -> None:
    assert _messages({"@replace": {"pattern": "", "global": 1}}) == [
        "/@replace/pattern should be a string of length 1 or greater.",
        '/@replace should have field "value" but it doesn\'t.',
        "/@replace/global should be a boolean but it is a number.",
    ]


def test_raw_objects_given_to_literal_or_exclude_when_null_are_not_looked_into() -> None:
    # validateDirectiveOrRaw accepts any raw object; the bad @path only fails when resolved.
    mapping = {"@literal": {"a": {"@path": 1}}}
    assert validate_mapping(mapping) == []
    assert _error(lambda: compile_mapping(mapping)({})) == "@path: expected string, got number"


def test_arrays_are_not_looked_into() -> None:
    assert validate_mapping({"list": [{"@oops": 1}, {"@path": 5}]}) == []


def test_enumerations_are_case_insensitive() -> None:
    assert validate_mapping({"@json": {"mode": "Decode", "value": 1}}) == []
    assert validate_mapping({"@merge": {"direction": "RIGHT", "objects": []}}) == []


def test_if_without_condition_passes_validation() -> None:
    assert validate_mapping({"@if": {"then": 1}}) == []
    assert validate_mapping({"@if": {"==": [1, 1], "then": 1}}) == []


def test_every_known_directive_validates_in_a_minimal_form() -> None:
    minimal = {
        "@path": "$.a",
        "@template": "{{a}}",
        "@literal": 1,
        "@if": {"exists": 1, "then": 2},
        "@case": {"operator": "lower", "value": "A"},
        "@replace": {"pattern": "a", "value": "abc"},
        "@arrayPath": ["$.a", {"b": {"@path": "$.b"}}],
        "@json": {"mode": "encode", "value": 1},
        "@flatten": {"separator": ".", "value": {}},
        "@merge": {"direction": "left", "objects": [{}]},
        "@transform": {"apply": {}, "mapping": {}},
        "@excludeWhenNull": None,
        "@liquid": "{{ a }}",
    }
    assert tuple(minimal) == DIRECTIVES
    for name, opts in minimal.items():
        assert validate_mapping({name: opts}) == [], name


def test_root_directive_problems_point_into_the_file_as_written() -> None:
    mapping = {
        "__segment_internal_directive": {"@transform": {"apply": {"x": {"@bad": 1}}}},
        "field": {"@paht": "$.a"},
    }
    problems = validate_mapping(mapping)
    assert [(p.path, p.segment_message()) for p in problems] == [
        (
            ("__segment_internal_directive", "@transform", "apply", "x"),
            "/@transform/apply/x has an invalid directive: @bad.",
        ),
        (("field",), "/@transform/mapping/field has an invalid directive: @paht."),
    ]
    problems = validate_mapping(
        {"__segment_internal_directive": {"@transform": {"apply": {}}}, "f": {"@paht": 1}}
    )
    assert [(p.path, p.segment_message()) for p in problems] == [
        (("f",), "/@transform/mapping/f has an invalid directive: @paht."),
    ]


def test_validation_never_raises_on_odd_input() -> None:
    for mapping in (
        None,
        1,
        "x",
        [],
        {},
        {"@": 1},
        {"__segment_internal_directive": None},
        {"a": float("nan")},
    ):
        assert isinstance(validate_mapping(mapping), list)


# --- directive_sources (for explain) ----------------------------------------------------------------------


def test_directive_sources_lists_event_lookups_with_their_location() -> None:
    mapping = {
        "context_kind": "user",
        "user_key": {
            "@if": {
                "exists": {"@path": "$.userId"},
                "then": {"@path": "$.userId"},
                "else": {"@path": "$.anonymousId"},
            }
        },
        "items": {"@arrayPath": ["$.products", {"id": {"@path": "$.productId"}}]},
        "greeting": {"@template": "Hi {{name}}"},
        "dyn": {"@path": {"@template": "properties.{{field}}"}},
        "t": {"@transform": {"apply": {"x": {"@path": "$.a"}}, "mapping": {"y": {"@path": "$.x"}}}},
    }
    assert directive_sources(mapping) == [
        (("user_key", "@if", "exists"), "@path", "$.userId"),
        (("user_key", "@if", "then"), "@path", "$.userId"),
        (("user_key", "@if", "else"), "@path", "$.anonymousId"),
        (("items",), "@arrayPath", "$.products"),
        (("greeting",), "@template", "Hi {{name}}"),
        (("dyn", "@path"), "@template", "properties.{{field}}"),
        (("t", "@transform", "apply", "x"), "@path", "$.a"),
    ]
    assert directive_sources({"fixed": 1}) == []
