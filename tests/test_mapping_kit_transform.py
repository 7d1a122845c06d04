"""mapping-kit.md section 11, kind "transform" (M1-M90), through `compile_mapping` — the closure the CLI
runs per event — plus the directive rules the vectors do not pin down (MK18-MK40)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from ld_segment_cli.js import UNDEFINED, dumps
from ld_segment_cli.mapping_kit import MappingError, compile_mapping, event_roots, transform, validate_mapping

# (id, mapping JSON, event JSON, expected): expected is the result as compact JSON text (exact key
# order), or a tuple of the error message(s). For M34, M45, M72-M74, M79 and M87 the spec says only
# "error (see note)"; their texts are what the validator rules of MK7/MK8 produce.
VECTORS = [
    ("M1", "{}", '{"cool":false}', "{}"),
    ("M2", '{"cool":true}', "{}", '{"cool":true}'),
    ("M3", '{"simple":{"@literal":false}}', "{}", '{"simple":false}'),
    (
        "M4",
        '{"nested":{"@literal":{"a":{"@path":"$.a"},"b":{"@path":"$.b"}}}}',
        '{"a":"some value"}',
        '{"nested":{"a":"some value"}}',
    ),
    (
        "M5",
        '{"@if":{"exists":{"@path":"$.a"},"then":1,"else":2}}',
        '{"a":1,"b":true,"c":false,"d":null,"e":""}',
        "1",
    ),
    ("M6", '{"@if":{"exists":{"@path":"$.d"},"then":1,"else":2}}', '{"a":1,"d":null,"e":""}', "2"),
    ("M7", '{"@if":{"exists":{"@path":"$.x"},"then":1,"else":2}}', '{"a":1}', "2"),
    ("M8", '{"@if":{"exists":{"@path":"$.e"},"then":1,"else":2}}', '{"e":""}', "1"),
    ("M9", '{"@if":{"blank":{"@path":"$.a"},"then":1,"else":2}}', '{"a":1}', "1"),
    ("M10", '{"@if":{"blank":{"@path":"$.d"},"then":1,"else":2}}', '{"d":null}', "2"),
    ("M11", '{"@if":{"blank":{"@path":"$.x"},"then":1,"else":2}}', "{}", "2"),
    ("M12", '{"@if":{"blank":{"@path":"$.e"},"then":1,"else":2}}', '{"e":""}', "2"),
    (
        "M13",
        '{"@case":{"operator":"lower","value":{"@path":"$.b"}}}',
        '{"b":"MAKE ME LOWER CASE"}',
        '"make me lower case"',
    ),
    (
        "M14",
        '{"@case":{"operator":"upper","value":{"@path":"$.c"}}}',
        '{"c":"make me upper case"}',
        '"MAKE ME UPPER CASE"',
    ),
    ("M15", '{"@case":{"operator":"lower","value":{"@path":"$.e"}}}', '{"e":""}', '""'),
    ("M16", '{"@case":{"operator":"lower","value":{"@path":"$.a"}}}', '{"a":1}', "1"),
    ("M17", '{"@case":{"operator":"lower","value":{"@path":"$.d"}}}', '{"d":null}', "null"),
    (
        "M18",
        '{"@case":{"operator":"lower","value":{"@path":"$.h"}}}',
        '{"h":{"key1":"with values","key2":["hi",true,null]}}',
        '{"key1":"with values","key2":["hi",true,null]}',
    ),
    (
        "M19",
        '{"@case":{"wrongKey":"lower","value":{"@path":"$.b"}}}',
        '{"b":"X"}',
        ('@case requires a "operator" key',),
    ),
    (
        "M20",
        '{"@case":{"operator":"unsupported snake","value":{"@path":"$.b"}}}',
        '{"b":"X"}',
        ('operator key should have a value of "lower" or "upper"',),
    ),
    ("M21", '{"@case":"not an object"}', "{}", ("/@case should be an object but it is a string.",)),
    (
        "M22",
        '{"neat":{"@arrayPath":["$.products"]}}',
        '{"products":[{"productId":"123","price":0.5},{"productId":"456","price":0.99}]}',
        '{"neat":[{"productId":"123","price":0.5},{"productId":"456","price":0.99}]}',
    ),
    (
        "M23",
        '{"neat":{"@arrayPath":["$.products",{"product_id":{"@path":"$.productId"},"monies":{"@path":"$.price"}}]}}',
        '{"products":[{"productId":"123","price":0.5},{"productId":"456","price":0.99}]}',
        '{"neat":[{"product_id":"123","monies":0.5},{"product_id":"456","monies":0.99}]}',
    ),
    (
        "M24",
        '{"neat":{"@arrayPath":[{"@if":{"exists":{"@path":"$.products"},"then":{"@path":"$.products"},"else":[]}},{"product_id":{"@path":"$.productId"}}]}}',
        '{"products":[{"productId":"123"}]}',
        '{"neat":[{"product_id":"123"}]}',
    ),
    (
        "M25",
        '{"neat":{"@arrayPath":["$.products",{"product_id":{"@path":"$.productId"},"monies":{"@path":"$.price"}}]}}',
        '{"products":{"notAnArray":true}}',
        '{"neat":[{}]}',
    ),
    (
        "M26",
        '{"neat":{"@arrayPath":["$.properties",{"product_id":{"@path":"$.productId"},"monies":{"@path":"$.price"}}]}}',
        '{"properties":{"productId":"123","price":0.5}}',
        '{"neat":[{"product_id":"123","monies":0.5}]}',
    ),
    (
        "M27",
        '{"neat":{"@json":{"mode":"encode","value":{"@path":"$.foo"}}}}',
        '{"foo":"bar"}',
        '{"neat":"\\"bar\\""}',
    ),
    (
        "M28",
        '{"neat":{"@json":{"mode":"encode","value":{"@path":"$.foo"}}}}',
        '{"foo":{"bar":"baz"}}',
        '{"neat":"{\\"bar\\":\\"baz\\"}"}',
    ),
    (
        "M29",
        '{"neat":{"@json":{"mode":"encode","value":{"@path":"$.foo"}}}}',
        '{"foo":["bar","baz"]}',
        '{"neat":"[\\"bar\\",\\"baz\\"]"}',
    ),
    (
        "M30",
        '{"neat":{"@json":{"mode":"decode","value":{"@path":"$.foo"}}}}',
        '{"foo":"\\"bar\\""}',
        '{"neat":"bar"}',
    ),
    (
        "M31",
        '{"neat":{"@json":{"mode":"decode","value":{"@path":"$.foo"}}}}',
        '{"foo":"{\\"bar\\":\\"baz\\"}"}',
        '{"neat":{"bar":"baz"}}',
    ),
    (
        "M32",
        '{"neat":{"@json":{"mode":"decode","value":{"@path":"$.foo"}}}}',
        '{"foo":"[\\"bar\\",\\"baz\\"]"}',
        '{"neat":["bar","baz"]}',
    ),
    (
        "M33",
        '{"neat":{"@json":{"mode":"decode","value":{"@path":"$.foo"}}}}',
        '{"foo":"Hello World"}',
        '{"neat":"Hello World"}',
    ),
    (
        "M34",
        '{"neat":{"@json":{"mode":"oops","value":{"@path":"$.foo"}}}}',
        '{"foo":"bar"}',
        ('/neat/@json/mode should be one of encode, decode but it is "oops".',),
    ),
    ("M35", '{"neat":{"@json":{"mode":"encode","value":{"@path":"$.bad"}}}}', '{"foo":{"bar":"baz"}}', "{}"),
    (
        "M36",
        '{"neat":{"@flatten":{"value":{"@path":"$.foo"},"separator":"."}}}',
        '{"foo":{"bar":"baz","aces":{"a":1,"b":2}}}',
        '{"neat":{"bar":"baz","aces.a":1,"aces.b":2}}',
    ),
    (
        "M37",
        '{"result":{"@flatten":{"value":{"@path":"$.foo"},"separator":"."}}}',
        '{"foo":[{"fazz":"bar","fizz":"baz"}]}',
        '{"result":{"0.fazz":"bar","0.fizz":"baz"}}',
    ),
    (
        "M38",
        '{"neat":{"@flatten":{"value":{"@path":"$.foo"},"separator":".","omitArrays":true}}}',
        '{"foo":{"bar":"baz","aces":[1,2]}}',
        '{"neat":{"bar":"baz","aces":[1,2]}}',
    ),
    ("M39", '{"neat":{"@path":"$.foo"}}', '{"foo":"bar"}', '{"neat":"bar"}'),
    ("M40", '{"@path":""}', '{"foo":"bar"}', '{"foo":"bar"}'),
    ("M41", '{"@path":"$."}', '{"foo":"bar"}', '{"foo":"bar"}'),
    ("M42", '{"neat":{"@path":"$.foo.bar"}}', '{"foo":{"bar":"baz"}}', '{"neat":"baz"}'),
    ("M43", '{"@path":{"@path":"$.foo"}}', '{"foo":"bar","bar":"baz"}', '"baz"'),
    ("M44", '{"neat":{"@path":"$.oops"}}', '{"foo":"bar"}', "{}"),
    (
        "M45",
        '{"neat":{"@path":{}}}',
        '{"foo":"bar"}',
        ("/neat/@path should be a string or a mapping directive but it is an object.",),
    ),
    (
        "M46",
        '{"neat":{"@path":"$.integrations.Actions Amplitude.session_id"}}',
        '{"integrations":{"Actions Amplitude":{"session_id":"bar"}}}',
        '{"neat":"bar"}',
    ),
    ("M47", '{"neat":{"@path":"$.foo.bar.baz"}}', '{"foo":"bar"}', "{}"),
    ("M48", '{"@template":"Hello, {{who}}!"}', '{"who":"World"}', '"Hello, World!"'),
    ("M49", '{"@template":"Hello, {{who.name}}!"}', '{"who":{"name":"World"}}', '"Hello, World!"'),
    (
        "M50",
        '{"@template":"<blink>{{a}} {{{a}}}</blink>"}',
        '{"a":"<b>Hi</b>"}',
        '"<blink><b>Hi</b> <b>Hi</b></blink>"',
    ),
    ("M51", '{"@template":"{{oops.yo}}"}', "{}", '""'),
    (
        "M52",
        '{"@replace":{"pattern":"_","replacement":"rrrrr","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":""}',
        '""',
    ),
    (
        "M53",
        '{"@replace":{"pattern":"_","replacement":"rrrrr","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":null}',
        '""',
    ),
    (
        "M54",
        '{"@replace":{"pattern":"WW","replacement":"oo","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":"cWWl-story-ww"}',
        '"cool-story-ww"',
    ),
    (
        "M55",
        '{"@replace":{"pattern":"AaB","replacement":"nice","value":{"@path":"$.a"},"ignorecase":true,"global":true}}',
        '{"a":"aab-----AaB---aab"}',
        '"nice-----nice---nice"',
    ),
    (
        "M56",
        '{"@replace":{"pattern":"_","replacement":"","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":"nomore_underscore"}',
        '"nomoreunderscore"',
    ),
    (
        "M57",
        '{"@replace":{"pattern":"_","replacement":"weird","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":"nomore_underscore"}',
        '"nomoreweirdunderscore"',
    ),
    (
        "M58",
        '{"@replace":{"pattern":"LOL","replacement":"YAY","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":"Well Hello there LOL"}',
        '"Well Hello there YAY"',
    ),
    (
        "M59",
        '{"@replace":{"pattern":"+","replacement":"_","value":{"@path":"$.a"},"global":true,"ignorecase":false}}',
        '{"a":"many+different+things"}',
        '"many_different_things"',
    ),
    (
        "M60",
        '{"@replace":{"pattern":"+","replacement":"_","value":{"@path":"$.a"},"global":false,"ignorecase":false}}',
        '{"a":"many+different+things"}',
        '"many_different+things"',
    ),
    (
        "M61",
        '{"@replace":{"pattern":"aaabbbcccd","replacement":"","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":"aaabbbcccd"}',
        '""',
    ),
    (
        "M62",
        '{"@replace":{"pattern":"many+","value":{"@path":"$.a"},"replacement":"","ignorecase":false,"global":true}}',
        '{"a":"many+different+things"}',
        '"different+things"',
    ),
    (
        "M63",
        '{"@replace":{"pattern":"true","replacement":"granted","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":true}',
        '"granted"',
    ),
    (
        "M64",
        '{"@replace":{"pattern":"1","replacement":"granted","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":1}',
        '"granted"',
    ),
    (
        "M65",
        '{"@replace":{"pattern":"-","replacement":" ","pattern2":"great","replacement2":"awesome","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":"something-great!"}',
        '"something awesome!"',
    ),
    (
        "M66",
        '{"@replace":{"pattern":"true","replacement":"granted","pattern2":"false","replacement2":"denied","value":{"@path":"$.a"},"ignorecase":false,"global":true}}',
        '{"a":false}',
        '"denied"',
    ),
    ("M67", '{"x":null}', "{}", '{"x":null}'),
    ("M68", '{"x":{}}', "{}", '{"x":{}}'),
    ("M69", '{"x":{"y":{"@path":"$.missing"},"z":1},"foo":1}', "{}", '{"x":{"z":1},"foo":1}'),
    ("M70", '{"@merge":{"direction":"right","objects":[]}}', "{}", "{}"),
    ("M71", '{"@merge":{"direction":"left","objects":[{"cool":true}]}}', "{}", '{"cool":true}'),
    (
        "M72",
        '{"@merge":{"direction":"right","objects":{"oops":true}}}',
        "{}",
        ("/@merge/objects should be an array but it is an object.",),
    ),
    (
        "M73",
        '{"@merge":{"direction":"right","objects":[{},1]}}',
        "{}",
        ("/@merge/objects/1 should be a object or a mapping directive but it is a number.",),
    ),
    (
        "M74",
        '{"@merge":{"direction":"up","objects":[{"oh":"yeah"},{}]}}',
        "{}",
        ('/@merge/direction should be one of left, right but it is "up".',),
    ),
    (
        "M75",
        '{"@merge":{"direction":"right","objects":[{"cool":true},{"cool":"you bet"}]}}',
        "{}",
        '{"cool":"you bet"}',
    ),
    (
        "M76",
        '{"@merge":{"direction":"right","objects":[{"cool":true,"hey":"there"},{"@path":"foo"}]}}',
        '{"foo":{"bar":"baz","hey":"you"}}',
        '{"cool":true,"hey":"you","bar":"baz"}',
    ),
    (
        "M77",
        '{"@merge":{"direction":"left","objects":[{"cool":true},{"cool":"you bet"}]}}',
        "{}",
        '{"cool":true}',
    ),
    (
        "M78",
        '{"@merge":{"direction":"left","objects":[{"cool":true,"hey":"there"},{"@path":"foo"}]}}',
        '{"foo":{"bar":"baz","hey":"you"}}',
        '{"bar":"baz","hey":"there","cool":true}',
    ),
    (
        "M79",
        '{"@transform":{"@path":{}}}',
        '{"foo":"bar"}',
        ("/@transform should be an object but it is a directive.",),
    ),
    (
        "M80",
        '{"@transform":{"apply":{"foo":{"@path":"$.a"}},"mapping":{"cool":{"@path":"$.foo"}}}}',
        '{"a":1,"b":2}',
        '{"cool":1}',
    ),
    (
        "M81",
        '{"@transform":{"apply":{"properties":{"@flatten":{"value":{"@path":"$.properties"},"separator":"_"}}},"mapping":{"properties":{"@path":"$.properties"},"topLevel":{"@path":"$.properties.nested_a"}}}}',
        '{"properties":{"test":"value","another":"thing","nested":{"a":"special","b":2}},"otherStuff":"foo"}',
        '{"properties":{"test":"value","another":"thing","nested_a":"special","nested_b":2},"topLevel":"special"}',
    ),
    (
        "M82",
        '{"someFieldToExclude":{"@excludeWhenNull":{"@path":"$.foo.bar"}}}',
        '{"foo":{"bar":null,"aces":{"a":1,"b":2}}}',
        "{}",
    ),
    (
        "M83",
        '{"neat":{"@excludeWhenNull":{"@path":"$.foo"}}}',
        '{"foo":{"bar":null,"aces":{"a":1,"b":2}}}',
        '{"neat":{"aces":{"a":1,"b":2}}}',
    ),
    (
        "M84",
        '{"neat":{"@excludeWhenNull":{"@path":"$.foo"}}}',
        '{"foo":{"bar":null,"aces":{"a":1,"b":2,"c":null,"d":{"a":null,"b":null}}}}',
        '{"neat":{"aces":{"a":1,"b":2,"d":{}}}}',
    ),
    (
        "M85",
        '{"m":{"templateEmpty":{"@excludeWhenNull":{"@template":"{{foo.bar}}"}},"jsonNullEncode":{"@excludeWhenNull":{"@json":{"mode":"encode","value":{"@path":"$.foo.bar"}}}},"replaceNull":{"@excludeWhenNull":{"@replace":{"pattern":"-","replacement":"nice","value":{"@path":"$.foo.bar"},"ignorecase":false,"global":true}}},"caseNull":{"@excludeWhenNull":{"@case":{"operator":"upper","value":{"@path":"$.foo.bar"}}}}}}',
        '{"foo":{"bar":null}}',
        '{"m":{"templateEmpty":"","jsonNullEncode":"null","replaceNull":""}}',
    ),
    (
        "M86",
        '{"__segment_internal_directive":{"@transform":{"apply":{"properties":{"@flatten":{"value":{"@path":"$.properties"},"separator":"_"}}},"mapping":{"properties":{"@path":"$.properties"},"topLevel":{"@path":"$.properties.nested_a"}}}},"properties":{"@path":"$.properties"},"topLevel":{"@path":"$.properties.nested_a"}}',
        '{"properties":{"test":"value","nested":{"a":"special","b":2}}}',
        '{"properties":{"test":"value","nested_a":"special","nested_b":2},"topLevel":"special"}',
    ),
    (
        "M87",
        '{"a":1,"@field":"$.foo.bar"}',
        "{}",
        ("/ should only have one @-prefixed key but it has 2 keys.",),
    ),
    (
        "M88",
        '{"@template":false}',
        "{}",
        ("/@template should be a string or a mapping directive but it is a boolean.",),
    ),
    ("M89", '{"a":1}', "123", ("data must be an object, got number",)),
    ("M90", '{"a":1}', "[]", ("data must be an object, got array",)),
]


def _error(action: Callable[[], Any]) -> str:
    """The message of the MappingError `action` raises (compared exactly, not as a pattern)."""
    with pytest.raises(MappingError) as caught:
        action()
    return caught.value.message


def _json(text: str) -> Any:
    return orjson.loads(text)


def _resolve(mapping: Any, event: Any) -> Any:
    return compile_mapping(mapping)(event)


@pytest.mark.parametrize(
    ("mapping", "event", "expected"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS]
)
def test_transform_vector(mapping: str, event: str, expected: str | tuple[str, ...]) -> None:
    if isinstance(expected, str):
        assert dumps(_resolve(_json(mapping), _json(event))).decode() == expected
    else:
        with pytest.raises(MappingError) as caught:
            _resolve(_json(mapping), _json(event))
        assert caught.value.message == " ".join(expected)


VALIDATION_FAILURES = [v for v in VECTORS if isinstance(v[3], tuple) and v[3][0].startswith("/")]


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [(v[1], v[3]) for v in VALIDATION_FAILURES],
    ids=[v[0] for v in VALIDATION_FAILURES],
)
def test_transform_vector_errors_are_the_validators_problems(mapping: str, expected: tuple[str, ...]) -> None:
    assert [p.segment_message() for p in validate_mapping(_json(mapping))] == list(expected)


def test_event_type_is_checked_before_the_mapping_is_validated() -> None:
    assert _error(lambda: _resolve({"@template": False}, None)) == "data must be an object, got null"


def test_transform_convenience_matches_compiled_closure() -> None:
    mapping = {"a": {"@path": "$.x"}, "b": {"@template": "{{x}}!"}}
    assert transform(mapping, {"x": 1}) == compile_mapping(mapping)({"x": 1}) == {"a": 1, "b": "1!"}


# --- raw values and undefined removal (MK3, MK39, MK40) -------------------------------------------------


def test_bare_string_and_array_mappings_are_returned_resolved() -> None:
    assert _resolve("plain", {}) == "plain"
    assert dumps(_resolve(["a", {"@path": "$.missing"}, {"@path": "$.x"}], {"x": 2})) == b'["a",null,2]'


def test_undefined_array_elements_stay_in_the_array() -> None:
    result = _resolve({"list": ["a", {"@path": "$.missing"}]}, {})
    assert result["list"][1] is UNDEFINED


def test_undefined_is_removed_inside_objects_in_arrays_and_empty_objects_are_kept() -> None:
    result = _resolve({"list": [{"a": {"@path": "$.missing"}}], "o": {"p": {"@path": "$.missing"}}}, {})
    assert result == {"list": [{}], "o": {}}


def test_null_is_kept() -> None:
    assert _resolve({"a": {"@path": "$.a"}}, {"a": None}) == {"a": None}


def test_metadata_beside_a_directive_is_ignored() -> None:
    assert _resolve({"x": {"@path": "$.a", "_metadata": {"label": "A"}}}, {"a": 3}) == {"x": 3}


def test_results_are_fresh_objects_every_event() -> None:
    resolve = compile_mapping({"fixed": {"a": 1}, "list": [1, 2]})
    first = resolve({})
    first["fixed"]["a"] = 99
    first["list"].append(3)
    assert resolve({}) == {"fixed": {"a": 1}, "list": [1, 2]}


def test_numeric_keys_of_a_raw_object_come_first_like_a_javascript_object() -> None:
    assert dumps(_resolve({"b": 1, "10": 2, "2": 3, "a": 4}, {})) == b'{"2":3,"10":2,"b":1,"a":4}'


# --- paths through @path (MK10-MK14) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.a.b", 1),
        ("a.b", 1),
        ("$..a.b", 1),  # only the first "$." is removed: ".a.b" has an empty first piece
        ("x.$.a.b", 1),  # "$." removed wherever it first occurs
        ("$", UNDEFINED),
        ("$['a']", UNDEFINED),
        ("a['b']", 1),
        ('a["b"]', 1),
        ("list[1]", "y"),
        ("list.1", "y"),
        ("list[-1]", UNDEFINED),
        ("list[*]", UNDEFINED),
        ("list.length", 2),
        ("text.length", 5),
        ("text[0]", "h"),
        ("text.0", "h"),
        ("emoji.length", 3),
        ("n.x", UNDEFINED),
        ("t.x", UNDEFINED),
        ("zero.x", 0),
        ("empty.x", ""),
        ("no.x", False),
        ("nil.x", None),
        ("spaced key.inner", "s"),
        ('dots["a.b"]', UNDEFINED),
        ("k[b]", "bracket"),
    ],
)
def test_path_lookup_rules(path: str, expected: Any) -> None:
    event = {
        "a": {"b": 1},
        "x": {"a": {"b": 1}},
        "list": ["x", "y"],
        "text": "hello",
        "emoji": "a\U0001f600",
        "n": 5,
        "t": True,
        "zero": 0,
        "empty": "",
        "no": False,
        "nil": None,
        "spaced key": {"inner": "s"},
        "dots": {"a.b": "unreachable"},
        "k[b]": "bracket",
    }
    result = _resolve({"@path": path}, event)
    if expected is UNDEFINED:
        assert result is UNDEFINED
    else:
        assert result == expected and type(result) is type(expected)


def test_a_dotted_key_cannot_be_addressed_but_brackets_split_at_its_dot() -> None:
    assert _resolve({"@path": '$.a["b.c"]'}, {"a": {"b": {"c": 7}, "b.c": 8}}) == 7


def test_path_computed_by_a_directive_must_be_a_string() -> None:
    assert (
        _error(lambda: _resolve({"@path": {"@path": "$.n"}}, {"n": 1}))
        == "@path: expected string, got number"
    )
    assert (
        _error(lambda: _resolve({"@path": {"@path": "$.missing"}}, {}))
        == "@path: expected string, got undefined"
    )
    assert (
        _error(lambda: _resolve({"@template": {"@path": "$.nil"}}, {"nil": None}))
        == "@template: expected string, got null"
    )


def test_template_computed_by_a_directive_is_rendered() -> None:
    assert _resolve({"@template": {"@path": "$.t"}}, {"t": "hi {{name}}", "name": "Bo"}) == "hi Bo"


# --- @literal (MK18) --------------------------------------------------------------------------------------


def test_literal_keeps_template_text_and_resolves_nested_directives() -> None:
    assert _resolve({"@literal": "{{not a template}}"}, {}) == "{{not a template}}"
    assert _resolve({"@literal": {"a": {"@path": "$.a"}, "b": [1]}}, {"a": "v"}) == {"a": "v", "b": [1]}


# --- @if (MK19-MK22) --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition", [{"exists": False}, {"exists": 0}, {"exists": ""}, {"exists": None}, {"==": 1}, {}]
)
def test_if_without_a_truthy_exists_or_blank_option_fails(condition: dict[str, Any]) -> None:
    assert (
        _error(lambda: _resolve({"@if": {**condition, "then": 1}}, {}))
        == '@if requires an "exists" key or a "blank" key'
    )


def test_if_with_a_non_object_fails_at_run_time_inside_arrays() -> None:
    assert _error(lambda: _resolve([{"@if": "nope"}], {})) == '@if requires an object with an "exists" key'


def test_if_exists_wins_over_blank() -> None:
    mapping = {"@if": {"exists": {"@path": "$.e"}, "blank": {"@path": "$.e"}, "then": "yes", "else": "no"}}
    assert _resolve(mapping, {"e": ""}) == "yes"


@pytest.mark.parametrize(
    ("value", "blank"),
    [
        (None, True),
        ("", True),
        (0, True),
        (0.0, True),
        (False, True),
        ([], True),
        ([""], True),
        ([[]], True),
        ([None], True),
        (" ", False),
        ("0", False),
        ("0.0", False),
        ({}, False),
        ([0], False),
        ("x", False),
        (3, False),
        (True, False),
    ],
)
def test_if_blank_uses_javascript_loose_equality_with_empty_string(value: Any, blank: bool) -> None:
    mapping = {"@if": {"blank": {"@path": "$.v"}, "then": "filled", "else": "blank"}}
    assert _resolve(mapping, {"v": value}) == ("blank" if blank else "filled")


@pytest.mark.parametrize("otherwise", [0, False, "", None])
def test_if_falsy_else_yields_undefined(otherwise: Any) -> None:
    assert _resolve({"k": {"@if": {"exists": {"@path": "$.x"}, "then": 1, "else": otherwise}}}, {}) == {}


@pytest.mark.parametrize("then", [0, None, False, ""])
def test_if_then_is_used_whatever_its_value(then: Any) -> None:
    assert _resolve({"k": {"@if": {"exists": {"@path": "$.x"}, "then": then}}}, {"x": 1}) == {"k": then}


def test_if_missing_branch_removes_the_key() -> None:
    assert _resolve({"k": {"@if": {"exists": {"@path": "$.x"}, "else": 1}}}, {"x": 1}) == {}
    assert _resolve({"k": {"@if": {"exists": {"@path": "$.x"}, "then": 1}}}, {}) == {}


def test_if_preset_shape_prefers_user_id_then_anonymous_id() -> None:
    mapping = {
        "@if": {
            "exists": {"@path": "$.userId"},
            "then": {"@path": "$.userId"},
            "else": {"@path": "$.anonymousId"},
        }
    }
    assert _resolve(mapping, {"userId": "u", "anonymousId": "a"}) == "u"
    assert _resolve(mapping, {"userId": None, "anonymousId": "a"}) == "a"
    assert _resolve(mapping, {"userId": "", "anonymousId": "a"}) == ""


# --- @case (MK23) -----------------------------------------------------------------------------------------


def test_case_is_unicode_aware() -> None:
    assert _resolve({"@case": {"operator": "upper", "value": {"@path": "$.s"}}}, {"s": "straße"}) == "STRASSE"


def test_case_falsy_raw_value_yields_undefined_and_non_strings_skip_the_operator_check() -> None:
    assert _resolve({"k": {"@case": {"operator": "lower", "value": ""}}}, {}) == {}
    assert _resolve({"@case": {"operator": "sideways", "value": {"@path": "$.n"}}}, {"n": 4}) == 4


def test_case_operator_spelling_is_exact() -> None:
    assert (
        _error(lambda: _resolve({"@case": {"operator": "LOWER", "value": {"@path": "$.s"}}}, {"s": "A"}))
        == 'operator key should have a value of "lower" or "upper"'
    )


# --- @replace (MK24-MK28) ---------------------------------------------------------------------------------


def _replace(value: Any, **opts: Any) -> Any:
    return _resolve({"k": {"@replace": {"value": {"@path": "$.v"}, **opts}}}, {"v": value}).get(
        "k", UNDEFINED
    )


@pytest.mark.parametrize(
    ("replacement", "expected"),
    [
        ("[$&]", "a[b]c[b]"),
        ("$$", "a$c$"),
        ("<$`>", "a<a>c<abc>"),
        ("<$'>", "a<cb>c<>"),
        ("$1", "a$1c$1"),
        ("$<n>", "a$<n>c$<n>"),
        ("$", "a$c$"),
        ("x$", "ax$cx$"),
    ],
)
def test_replace_honours_javascript_replacement_tokens(replacement: str, expected: str) -> None:
    assert _replace("abcb", pattern="b", replacement=replacement) == expected


def test_replace_pattern_is_literal_text() -> None:
    assert _replace("a.b*c", pattern=".", replacement="-") == "a-b*c"
    assert _replace("(x) [y]", pattern="(x) [", replacement="") == "y]"
    assert _replace("a\\b", pattern="\\", replacement="/") == "a/b"


def test_replace_ignorecase_and_first_only() -> None:
    assert _replace("AbAB", pattern="ab", replacement="-", ignorecase=True, **{"global": False}) == "-AB"
    assert _replace("AbAB", pattern="ab", replacement="[$&]", ignorecase=True) == "[Ab][AB]"


def test_replace_ignorecase_never_folds_non_ascii_onto_ascii() -> None:
    # JavaScript's /i without /u: "ſ".toUpperCase() is "S" but a non-ASCII character never matches ASCII.
    assert _replace("ſs", pattern="s", replacement="-", ignorecase=True) == "ſ-"
    assert _replace("ÉCOLE école", pattern="é", replacement="e", ignorecase=True) == "eCOLE ecole"


def test_replace_value_conversions() -> None:
    assert _replace(1.5, pattern=".", replacement=",") == "1,5"
    assert _replace(1e21, pattern="+", replacement="") == "1e21"
    assert _replace({"a": 1}, pattern="a") == ""
    assert _replace(["a"], pattern="a") == ""
    assert _resolve({"@replace": {"pattern": "a", "value": {"@path": "$.missing"}}}, {}) == ""


def test_replace_falsy_raw_value_yields_undefined() -> None:
    assert _resolve({"k": {"@replace": {"pattern": "a", "value": ""}}}, {}) == {}


def test_replace_second_pair_uses_same_flags_and_defaults_its_replacement() -> None:
    assert _replace("a-b_c", pattern="-", replacement="+", pattern2="_") == "a+bc"
    assert (
        _replace("a-A-", pattern="-", replacement="", pattern2="a", replacement2="z", ignorecase=True) == "zz"
    )


def test_replace_length_limits_are_checked_at_run_time() -> None:
    assert (
        _error(lambda: _resolve([{"@replace": {"pattern": "x" * 11, "value": "abc"}}], {}))
        == '@replace requires a "pattern" less than 10 characters'
    )
    assert (
        _error(
            lambda: _resolve([{"@replace": {"pattern": "a", "replacement": "y" * 11, "value": "abc"}}], {})
        )
        == '@replace requires a "replacement" less than 10 characters'
    )
    assert (
        _error(lambda: _replace("abc", pattern="a", pattern2="z" * 11))
        == '@replace requires a "pattern" less than 10 characters'
    )
    assert _replace("abc", pattern="x" * 10) == "abc"  # exactly 10 is allowed


def test_replace_without_pattern_fails_at_run_time_inside_arrays() -> None:
    assert (
        _error(lambda: _resolve([{"@replace": {"value": "abc"}}], {})) == '@replace requires a "pattern" key'
    )


# --- @arrayPath (MK29-MK30) -------------------------------------------------------------------------------


def test_array_path_items_that_are_not_objects_are_still_the_event_of_the_shape() -> None:
    mapping = {"@arrayPath": ["$.items", {"id": {"@path": "$.id"}, "fixed": 1}]}
    result = _resolve(mapping, {"items": [5, "s", None, {"id": 2}]})
    assert dumps(result) == b'[{"fixed":1},{"fixed":1},{"id":null,"fixed":1},{"id":2,"fixed":1}]'


def test_array_path_returns_the_root_when_there_is_no_usable_shape() -> None:
    assert _resolve({"@arrayPath": ["$.s", {"a": 1}]}, {"s": "text"}) == "text"
    assert _resolve({"@arrayPath": ["$.o", {}]}, {"o": {"a": 1}}) == {"a": 1}
    assert _resolve({"k": {"@arrayPath": ["$.missing", {"a": 1}]}}, {}) == {}


def test_array_path_of_a_non_array_fails_at_run_time_inside_arrays() -> None:
    assert _error(lambda: _resolve([{"@arrayPath": "$.x"}], {})) == "@arrayPath expected array, got string"


# --- @json (MK31) -----------------------------------------------------------------------------------------


def test_json_encode_writes_javascript_numbers_and_raw_unicode() -> None:
    mapping = {"@json": {"mode": "encode", "value": {"@path": "$.v"}}}
    assert _resolve(mapping, {"v": {"n": 1.0, "s": "é", "big": 1e21}}) == '{"n":1,"s":"é","big":1e+21}'
    assert _resolve(mapping, {"v": None}) == "null"


def test_json_encode_drops_undefined_members() -> None:
    mapping = {
        "@json": {"mode": "encode", "value": {"a": {"@path": "$.missing"}, "b": [{"@path": "$.missing"}]}}
    }
    assert _resolve(mapping, {}) == '{"b":[null]}'


def test_json_decode_leaves_non_strings_unchanged() -> None:
    assert _resolve({"@json": {"mode": "decode", "value": {"@path": "$.v"}}}, {"v": 5}) == 5


def test_json_mode_differing_in_case_passes_validation_and_yields_undefined() -> None:
    mapping = {"k": {"@json": {"mode": "ENCODE", "value": {"@path": "$.v"}}}}
    assert validate_mapping(mapping) == []
    assert _resolve(mapping, {"v": 1}) == {}


def test_json_falsy_raw_value_fails_at_run_time() -> None:
    assert (
        _error(lambda: _resolve({"@json": {"mode": "encode", "value": 0}}, {}))
        == '@json requires a "value" key'
    )


# --- @flatten (MK32) --------------------------------------------------------------------------------------


def test_flatten_drops_empty_containers_and_keeps_leaves() -> None:
    mapping = {"@flatten": {"value": {"@path": "$.v"}, "separator": "/"}}
    event = {"v": {"a": {}, "b": [], "c": None, "d": {"e": [1, {"f": True}]}, "g": ""}}
    assert dumps(_resolve(mapping, event)) == b'{"c":null,"d/e/0":1,"d/e/1/f":true,"g":""}'


def test_flatten_of_a_primitive_or_missing_value() -> None:
    mapping = {"@flatten": {"value": {"@path": "$.v"}, "separator": "."}}
    assert _resolve(mapping, {"v": 5}) == {"": 5}
    assert _resolve(mapping, {}) == {}


def test_flatten_later_keys_overwrite_in_place() -> None:
    mapping = {"@flatten": {"value": {"@path": "$.v"}, "separator": "."}}
    assert dumps(_resolve(mapping, {"v": {"a.b": 1, "x": 2, "a": {"b": 3}}})) == b'{"a.b":3,"x":2}'


def test_flatten_requires_a_non_empty_separator_at_run_time() -> None:
    assert (
        _error(lambda: _resolve({"@flatten": {"value": {"@path": "$.v"}, "separator": ""}}, {"v": {}}))
        == '@flatten requires a "separator" key'
    )


# --- @merge (MK33-MK34) -----------------------------------------------------------------------------------


def test_merge_a_missing_path_erases_an_earlier_default() -> None:
    mapping = {"@merge": {"direction": "right", "objects": [{"a": 1, "b": 2}, {"a": {"@path": "$.missing"}}]}}
    assert dumps(_resolve(mapping, {})) == b'{"b":2}'


def test_merge_null_overwrites_and_non_objects_are_ignored_or_spread() -> None:
    mapping = {
        "@merge": {
            "direction": "right",
            "objects": [{"a": 1}, {"@path": "$.n"}, {"a": None}, {"@path": "$.s"}],
        }
    }
    assert dumps(_resolve(mapping, {"n": None, "s": "ab"})) == b'{"0":"a","1":"b","a":null}'


def test_merge_left_reverses_then_keeps_first_insert_positions() -> None:
    mapping = {"@merge": {"direction": "left", "objects": [{"a": 1, "b": 1}, {"c": 2, "a": 2}]}}
    assert dumps(_resolve(mapping, {})) == b'{"c":2,"a":1,"b":1}'


def test_merge_direction_is_exact_at_run_time() -> None:
    mapping = {"@merge": {"direction": "LEFT", "objects": [{"a": 1}, {"a": 2}]}}
    assert validate_mapping(mapping) == []
    assert _resolve(mapping, {}) == {"a": 2}


def test_merge_inside_an_object_is_cleaned_of_undefined() -> None:
    mapping = {"out": {"@merge": {"direction": "right", "objects": [{"a": {"@path": "$.x"}, "b": 1}]}}}
    assert _resolve(mapping, {}) == {"out": {"b": 1}}


# --- @transform and the root directive (MK35-MK36) ---------------------------------------------------------


def test_transform_apply_is_a_full_transform_and_mapping_reads_its_result() -> None:
    mapping = {
        "@transform": {
            "apply": {"x": {"@path": "$.missing"}, "y": 1},
            "mapping": {"has_x": {"@if": {"exists": {"@path": "$.x"}, "then": True, "else": "no"}}},
        }
    }
    assert _resolve(mapping, {}) == {"has_x": "no"}


def test_transform_apply_requires_an_object_event() -> None:
    mapping = {
        "@arrayPath": [
            "$.items",
            {"@transform": {"apply": {"a": {"@path": "$.a"}}, "mapping": {"@path": "$.a"}}},
        ]
    }
    assert _error(lambda: _resolve(mapping, {"items": [1]})) == "data must be an object, got number"


def test_root_directive_replaces_its_mapping_option_with_the_other_keys() -> None:
    mapping = {
        "__segment_internal_directive": {
            "@transform": {"apply": {"v": {"@path": "$.a"}}, "mapping": {"ignored": 1}}
        },
        "out": {"@path": "$.v"},
    }
    assert _resolve(mapping, {"a": 7}) == {"out": 7}


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ({"@transform": {}, "@merge": {}}, "The root mapping must only have a single directive object"),
        ({"@transform": "text"}, "The root directive must be an object"),
        ({}, "The root directive must be an object"),
        (5, "The root directive must be an object"),
    ],
)
def test_root_directive_shape_errors(root: Any, message: str) -> None:
    problems = validate_mapping({"__segment_internal_directive": root, "a": 1})
    assert [p.segment_message() for p in problems] == [message]
    assert _error(lambda: _resolve({"__segment_internal_directive": root, "a": 1}, {})) == f"{message}"


# --- @excludeWhenNull (MK37) ------------------------------------------------------------------------------


def test_exclude_when_null_keeps_falsy_values_and_nulls_inside_arrays() -> None:
    mapping = {k: {"@excludeWhenNull": {"@path": f"$.{k}"}} for k in ("zero", "no", "empty", "list", "nil")}
    event = {"zero": 0, "no": False, "empty": "", "list": [None, 1], "nil": None}
    assert dumps(_resolve(mapping, event)) == b'{"zero":0,"no":false,"empty":"","list":[null,1]}'


def test_exclude_when_null_does_not_modify_the_event() -> None:
    event = {"o": {"a": None, "b": 1}}
    assert _resolve({"x": {"@excludeWhenNull": {"@path": "$.o"}}, "y": {"@path": "$.o.a"}}, event) == {
        "x": {"b": 1},
        "y": None,
    }
    assert event == {"o": {"a": None, "b": 1}}


# --- unknown directives inside arrays (MK9) -----------------------------------------------------------------


def test_unknown_directive_inside_an_array_fails_only_when_resolved() -> None:
    mapping = {"list": [{"@oops": 1}]}
    assert validate_mapping(mapping) == []
    assert _error(lambda: _resolve(mapping, {})) == "@oops is not a valid directive, got undefined"


def test_compiled_mapping_is_not_affected_by_previous_events() -> None:
    resolve = compile_mapping({"@replace": {"pattern": "a", "value": {"@path": "$.v"}}})
    assert resolve({"v": "aa"}) == ""
    assert resolve({"v": "bab"}) == "bb"
    assert resolve({"v": "aa"}) == ""


def _outcome(mapping: Any, event: Any) -> Any:
    try:
        return dumps(_resolve(mapping, event))
    except MappingError as exc:
        return ("error", exc.message)


@pytest.mark.parametrize(
    ("mapping", "event"), [v[1:3] for v in VECTORS if isinstance(v[2], str)],
    ids=[v[0] for v in VECTORS if isinstance(v[2], str)],
)
def test_a_mapping_reads_only_its_event_roots(mapping: str, event: str) -> None:
    """event_roots is what the hot path decodes: the event cut down to those keys resolves the same."""
    roots = event_roots(_json(mapping))
    full = _json(event)
    if roots is None or type(full) is not dict:
        return
    projected = {key: value for key, value in full.items() if key in roots}
    assert _outcome(_json(mapping), projected) == _outcome(_json(mapping), full)


@pytest.mark.parametrize(("mapping", "roots"), [
    ({"a": {"@path": "$.properties.x"}, "b": {"@path": "userId"}, "c": 3}, {"properties", "userId"}),
    ({"a": {"@template": "{{ traits.name }} {{context.ip}}"}}, {"traits", "context"}),
    ({"a": {"@if": {"exists": {"@path": "$.x"}, "then": {"@path": "$.y"}, "else": {"@path": "$.z"}}}},
     {"x", "y", "z"}),
    ({"a": {"@arrayPath": ["$.products", {"id": {"@path": "$.sku"}}]}}, {"products"}),  # item paths are relative
    ({"a": {"@transform": {"apply": {"p": {"@path": "$.properties"}}, "mapping": {"q": {"@path": "$.p"}}}}},
     {"properties"}),
    ({"a": {"@merge": {"objects": [{"@path": "$.traits"}, {"@path": "$.properties"}], "direction": "right"}}},
     {"traits", "properties"}),
    ({"a": {"@json": {"value": {"@case": {"operator": "lower", "value": {"@path": "$.['odd key'].b"}}},
                      "mode": "encode"}}}, {"odd key"}),
    ({"a": {"@literal": {"b": {"@path": "$.x"}}}}, {"x"}),
    ({"a": {"@path": "$"}}, {"$"}),  # "$" without a dot is a key named "$" (MK10)
])
def test_event_roots_of_directives(mapping: Any, roots: set[str]) -> None:
    assert event_roots(mapping) == roots


@pytest.mark.parametrize("mapping", [
    {"a": {"@path": "$."}},  # the whole event
    {"a": {"@path": {"@template": "$.{{field}}"}}},  # a path computed per event
    {"a": {"@template": "{{{x}}}"}},  # a value scanned again for placeholders
    {"a": {"@liquid": "{{ properties.x }}"}},
    {"a": {"@arrayPath": ["$.list", {"b": {"@liquid": "{{ x }}"}}]}},
    {"__segment_internal_directive": {"@merge": {"objects": [], "direction": "left"}}, "a": 1},
])
def test_event_roots_are_unknown_when_a_lookup_is_not_spelled_out(mapping: Any) -> None:
    assert event_roots(mapping) is None
