"""js.dumps takes a fast path (orjson's bytes as they are) only when they equal JSON.stringify's."""

from __future__ import annotations

import math

import orjson
from hypothesis import given
from hypothesis import strategies as st

from ld_segment_cli import js
from ld_segment_cli.js import UNDEFINED, _json_ready

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_dumps_equals_the_walked_json_stringify_form(value):
    assert js.dumps(value) == orjson.dumps(_json_ready(value))


def test_numbers_are_written_as_javascript_writes_them():
    assert js.dumps(1.0) == b"1"
    assert js.dumps({"a": [1e16, 1e21, 1e-6, 1e-7, -0.0, 0.5]}) == b'{"a":[10000000000000000,1e+21,0.000001,1e-7,0,0.5]}'
    assert js.dumps({"a": math.inf, "b": UNDEFINED, "c": [UNDEFINED]}) == b'{"a":null,"c":[null]}'


def test_strings_that_look_like_numbers_are_left_alone():
    assert js.dumps({"v": "release 1.0, 2e5]"}) == b'{"v":"release 1.0, 2e5]"}'


def test_lone_surrogates_are_escaped_as_json_stringify_writes_them():
    """String indexing in mapping-kit is by UTF-16 unit, so "😀"[0] is a lone surrogate: orjson refuses it,
    JSON.stringify (well-formed, ES2019) writes it as an escape. Expected bytes from node's JSON.stringify."""
    assert js.dumps({"\ud83d": "\ud83d"}) == b'{"\\ud83d":"\\ud83d"}'
    assert js.dumps(["a\udc00b", "\ud83d\ude00", UNDEFINED]) == b'["a\\udc00b","\xf0\x9f\x98\x80",null]'
    assert js.dumps({"k": "\t\x1f\x7f\ud800\"\\", "u": UNDEFINED}) == b'{"k":"\\t\\u001f\x7f\\ud800\\"\\\\"}'
    assert js.dumps({"\udfff": {"n": 1.0}}) == b'{"\\udfff":{"n":1}}'


@given(json_values)
def test_the_deep_writer_writes_what_dumps_writes(value):
    """deep_dumps (for values nested deeper than orjson writes) is byte for byte the same writer."""
    assert js.deep_dumps(value) == js.dumps(value)


def test_a_value_nested_deeper_than_orjson_writes_is_written_whole():
    value = inner = {}
    for _ in range(510):  # 1020 levels: as deep as an input line can be (orjson reads 1024)
        inner["n"] = [{"f": 1.0, "big": 2**66}]
        inner = inner["n"][0]
    written = js.dumps(value)
    assert written.startswith(b'{"n":[{"f":1,"big":73786976294838210000,"n":[{') and written.endswith(b"}" + b"]}" * 510)
