"""Reading lines: the reference parse_line (JSON.parse's numbers) and the hot path's Projection, which must
give every line the same verdict and the same values for the keys it keeps."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ld_segment_cli import js
from ld_segment_cli.decode import Projection, parse_line

KEYS = frozenset({"type", "userId", "properties"})

# Values that readers judge differently when they skip them, keep them, or read them as a double.
ODD_VALUES = [
    b"1e400", b"-1e400", b"1E+309", b"123456789012345678901234567890", b"-9223372036854775809",
    b"18446744073709551615", b"18446744073709551616", b"9" * 400, b"0." + b"0" * 400 + b"1", b"-0", b"-0.0",
    b"1.5e-400", b"2.5e-324", b"1e16", b"0.1", b'"\xc3\xa9t\xc3\xa9"', b'"\xff"', b'"\xed\xa0\x80"',
    b'"\\ud800"', b'"\\udc00x"', b'"\\ud83d\\ude00"', b'"a\\u0000b"', b'"\\x"', b'"tab\there"', b"NaN",
    b"Infinity", b"[" * 1100 + b"]" * 1100, b"[" * 600 + b"]" * 600, b'{"a":[1,{"b":null}]}', b"[1,2,]", b"tru",
    b"01", b"1.", b".5", b'{"type":"inner"}', b"true", b"null", b'"ok"',
]

value = st.sampled_from(ODD_VALUES)
key = st.sampled_from([b"type", b"userId", b"properties", b"context", b"sentAt", b"ty\\u0070e", b"\xc3\xa9"])
member = st.tuples(key, value).map(lambda kv: b'"' + kv[0] + b'":' + kv[1])
space = st.sampled_from([b"", b" ", b"\t", b"\r\n", b"\x0c"])


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    members = draw(st.lists(member, max_size=5))
    body = b"{" + draw(space) + b",".join(members) + b"}"
    return draw(st.sampled_from([body, body + draw(space), b"[" + body + b"]", body[:-1], b"\xef\xbb\xbf" + body]))


def _as_read(value: Any) -> Any:
    """The value with every integer beyond 64 bits as the double orjson reads for it (msgspec keeps it
    exact; js.py treats it as that double), so that equal readings compare equal."""
    t = type(value)
    if t is int and not -(2**63) <= value < 2**64:
        return js.js_double(value)
    if t is dict:
        return {k: _as_read(v) for k, v in value.items()}
    if t is list:
        return [_as_read(v) for v in value]
    return value


def _kept(event: dict[str, Any]) -> Any:
    return _as_read({k: event[k] for k in KEYS if k in event})


@settings(max_examples=3000, deadline=None)
@given(lines())
def test_projection_gives_every_line_the_reference_verdict_and_values(raw: bytes) -> None:
    event, error = Projection(KEYS).parse(raw)
    full, full_error = parse_line(raw)
    assert error == full_error
    if error is None:
        assert _kept(event) == _kept(full)


def test_projection_keeps_only_its_keys_and_checks_the_rest() -> None:
    projection = Projection(KEYS)
    raw = b'{"type":"track","context":{"ip":"1.2.3.4","deep":[1,{"x":2}]},"userId":"u","sentAt":"x"}'
    assert projection.parse(raw) == ({"type": "track", "userId": "u"}, None)
    for bad in (b'{"type":"track","context":{"ip":[1,}}', b'{"type":"track","context":"\xff"}',
                b'{"type":"track","context":"\\ud800"}', b'{"type":"track"} {}'):
        assert projection.parse(bad) == parse_line(bad) == (None, parse_line(bad)[1])


def test_projection_leaves_deep_lines_to_the_reference_whatever_the_recursion_limit() -> None:
    """msgspec's depth limit is the interpreter's recursion limit; orjson's is 1024 levels."""
    deep = b'{"type":' + b"[" * 1100 + b"]" * 1100 + b',"context":{}}'
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 5000))
    try:
        assert Projection(KEYS).parse(deep) == (None, "invalid JSON: nested deeper than 1024 levels")
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.parametrize(("raw", "expected"), [
    (b'{"x":1e400}', math.inf),
    (b'{"x":-1e400}', -math.inf),
    (b'{"x":' + b"9" * 400 + b"}", math.inf),
    (b'{"x":123456789012345678901234567890}', 1.2345678901234568e29),
    (b'{"x":18446744073709551615}', 18446744073709551615),
])
def test_numbers_are_read_as_json_parse_reads_them(raw: bytes, expected: Any) -> None:
    """Beyond a double's range JSON.parse reads Infinity (orjson refuses the line); an integer beyond 64 bits
    is the nearest double (as orjson reads it)."""
    event, error = parse_line(raw)
    assert error is None
    assert event["x"] == expected and type(event["x"]) is type(expected)


@pytest.mark.parametrize("raw", [
    b'{"x":1e400,"y":NaN}', b'{"x":1e400,"y":"\\ud800"}', b'{"x":1e400,"y":"\xff"}', b'{"x":1e400,}',
    b'{"x":1e400,"y":' + b"[" * 1100 + b"]" * 1100 + b"}", b"[1e400]", b'{"x":[1e400,-2E+999]} x',
])
def test_a_line_with_an_infinite_number_is_judged_as_if_it_were_finite(raw: bytes) -> None:
    """Everything else about the line is checked, with the message (and column) orjson gives the line with
    the number written as a finite one."""
    finite = raw.replace(b"1e400", b"0    ").replace(b"-2E+999", b"0      ")
    assert parse_line(finite)[1] is not None
    assert parse_line(raw) == parse_line(finite)


@pytest.mark.parametrize(("value", "written"), [
    (2**53, b"9007199254740992"),
    (2**53 + 1, b"9007199254740992"),  # JSON.parse holds the nearest double
    (-(2**53) - 3, b"-9007199254740996"),
    (18446744073709551615, b"18446744073709552000"),
    (18446744073709551617, b"18446744073709552000"),  # beyond 64 bits: orjson reads a float, msgspec an int
    (123456789012345678901234567890, b"1.2345678901234568e+29"),
    (int("9" * 400), b"null"),  # Infinity
])
def test_an_integer_is_written_as_json_stringify_writes_the_double_json_parse_reads(value: int, written: bytes) -> None:
    assert js.dumps({"v": value}) == b'{"v":' + written + b"}"
    assert js.dumps({"v": js.js_double(value)}) == b'{"v":' + written + b"}"
    assert js.to_string(value) == ("Infinity" if written == b"null" else written.decode())
