"""mapping-kit.md section 11, kind "get path" (M100-M110), and the path rules MK10-MK12 through the
public lookups (`lookup` is Segment's `get`; `get_path` is what `@path` does with the same text)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ld_segment_cli.js import UNDEFINED, dumps
from ld_segment_cli.mapping_kit import get_path, lookup, split_path

# The fixture object of get.iso.test.ts (its "u" member is JavaScript undefined).
FIXTURE: dict[str, Any] = {
    "a": {"b": {"c": 42, "d": True, "e": "hello", "f": [{"g": "yay"}, {"g": "nay"}]}, "h": None},
    "u": UNDEFINED,
    "[txt] non": True,
    "[txt] nest": {"inner": True},
}
UNDEFINED_TEXT = "undefined"

# (id, path as JSON, expected as JSON text or "undefined")
VECTORS = [
    ("M100", '["a","b"]', '{"c":42,"d":true,"e":"hello","f":[{"g":"yay"},{"g":"nay"}]}'),
    (
        "M101",
        '""',
        '{"a":{"b":{"c":42,"d":true,"e":"hello","f":[{"g":"yay"},{"g":"nay"}]},"h":null},"[txt] non":true,"[txt] nest":{"inner":true}}',
    ),
    (
        "M102",
        '"."',
        '{"a":{"b":{"c":42,"d":true,"e":"hello","f":[{"g":"yay"},{"g":"nay"}]},"h":null},"[txt] non":true,"[txt] nest":{"inner":true}}',
    ),
    ("M103", "\"['a'].b\"", '{"c":42,"d":true,"e":"hello","f":[{"g":"yay"},{"g":"nay"}]}'),
    ("M104", '"[\\"a\\"].b"', '{"c":42,"d":true,"e":"hello","f":[{"g":"yay"},{"g":"nay"}]}'),
    ("M105", '"a.b.c"', "42"),
    ("M106", '"a.b.f[0].g"', '"yay"'),
    ("M107", '"a.h"', "null"),
    ("M108", '"a.b.x"', UNDEFINED_TEXT),
    ("M109", '"[txt] non"', "true"),
    ("M110", '"[txt] nest.inner"', "true"),
]


@pytest.mark.parametrize(("path", "expected"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_get_path_vector(path: str, expected: str) -> None:
    for found in (lookup(FIXTURE, orjson.loads(path)), get_path(FIXTURE, orjson.loads(path))):
        if expected == UNDEFINED_TEXT:
            assert found is UNDEFINED
        else:
            assert dumps(found).decode() == expected


@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("a.b", ("a", "b")),
        ("a[0]", ("a", "0")),
        ("a[0].b", ("a", "0", "b")),
        ("a.0", ("a", "0")),
        ('a["b c"]', ("a", "b c")),
        ("a['b c']", ("a", "b c")),
        ("a[b]", ("a[b]",)),
        ("a[*]", ("a[*]",)),
        ("a[-1]", ("a[-1",)),  # the "]" after a digit still splits: a key that never exists
        ('a["b.c"]', ("a", "b", "c")),
        ("a[0]]]", ("a", "0")),
        ("integrations.Actions Amplitude.session_id", ("integrations", "Actions Amplitude", "session_id")),
        ("", ()),
        (".", ()),
        ("..", ()),
        ("$.a", ("$", "a")),
        ("it's", ("its",)),
    ],
)
def test_split_path_rules(path: str, keys: tuple[str, ...]) -> None:
    assert split_path(path) == keys


@pytest.mark.parametrize(
    ("path", "expected"),
    [("", "whole"), (".", "whole"), ("$.", "whole"), ("$", UNDEFINED), ("$['a']", UNDEFINED), ("$..a", 1)],
)
def test_get_path_removes_the_first_dollar_dot(path: str, expected: Any) -> None:
    event = {"a": 1}
    found = get_path(event, path)
    if expected == "whole":
        assert found is event
    else:
        assert found is expected or found == expected


def test_lookup_does_not_remove_dollar_dot() -> None:
    assert lookup({"a": 1}, "$.a") is UNDEFINED
    assert lookup({"$": {"a": 1}}, "$.a") == 1


@pytest.mark.parametrize(
    ("value", "path", "expected"),
    [
        (None, "x.y", None),
        (0, "x.y", 0),
        ("", "x.y", ""),
        (False, "x.y", False),
        (3, "x.y", UNDEFINED),
        (True, "x.y", UNDEFINED),
        ("héllo", "x.length", 5),
        ("a😀b", "x.length", 4),
        ("a😀b", "x.3", "b"),
        ("a😀b", "x[1]", "\ud83d"),
        ("abc", "x[3]", UNDEFINED),
        ("abc", "x.01", UNDEFINED),
        ([1, 2, 3], "x.length", 3),
        ([1, 2, 3], "x[2]", 3),
        ([1, 2, 3], "x[3]", UNDEFINED),
        ([1, 2, 3], "x.01", UNDEFINED),
        ([1, 2, 3], "x.first", UNDEFINED),
        ({"length": 9}, "x.length", 9),
        ({"0": "zero"}, "x[0]", "zero"),
    ],
)
def test_walking_follows_javascript_property_rules(value: Any, path: str, expected: Any) -> None:
    found = get_path({"x": {"x": value}}, f"$.x.{path}")
    if expected is UNDEFINED:
        assert found is UNDEFINED
    else:
        assert found == expected and type(found) is type(expected)


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 6])
def test_every_compiled_walk_length_stops_at_falsy_values(depth: int) -> None:
    keys = [f"k{i}" for i in range(depth)]
    event: Any = "leaf"
    for key in reversed(keys):
        event = {key: event}
    path = ".".join(keys)
    assert get_path(event, path) == "leaf"
    assert get_path(event, path + ".length") == 4
    assert get_path({"k0": 0}, path) == 0
    assert get_path({"k0": None}, path + ".more") is None
    assert get_path([], path) is UNDEFINED


def test_a_list_path_is_used_key_by_key() -> None:
    assert lookup({"a": [10, 20]}, ["a", 1]) == 20
    assert get_path({"$": 1}, ["$"]) == 1
