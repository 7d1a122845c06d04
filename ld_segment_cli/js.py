"""JavaScript value semantics that Segment's code relies on: undefined, truthiness, String(), typeof,
and JSON.stringify's output. Every module that must agree with Segment byte for byte uses these."""

from __future__ import annotations

import json
import math
import sys
from decimal import Decimal
from typing import Any, Final

import orjson


class _Undefined:
    """JavaScript's `undefined`: a value that is distinct from `null` (Python's None)."""

    __slots__ = ()
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()

_SAFE: Final = 2**53  # an integer beyond is held by JavaScript (JSON.parse) as the nearest double


def js_double(n: int | float) -> float:
    """The double JavaScript holds for a number: float(n), and ±Infinity beyond a double's range."""
    try:
        return float(n)
    except OverflowError:
        return math.inf if n > 0 else -math.inf


def is_number(value: Any) -> bool:
    """A JSON number: int or float, but never bool (Python's bool is an int subclass)."""
    t = type(value)
    return t is int or t is float


def truthy(value: Any) -> bool:
    """JavaScript truthiness: undefined, null, false, 0, NaN and "" are falsy; [] and {} are truthy."""
    if value is None or value is UNDEFINED or value is False:
        return False
    if value is True:
        return True
    t = type(value)
    if t is str:
        return value != ""
    if t is int:
        return value != 0
    if t is float:
        return value == value and value != 0.0
    return True


def number_to_string(n: int | float) -> str:
    """Number.prototype.toString(): shortest round-trip digits, exponent from 1e21 and below 1e-6."""
    if type(n) is int:
        if -_SAFE <= n <= _SAFE:
            return str(n)
        n = js_double(n)
    if n != n:
        return "NaN"
    if math.isinf(n):
        return "Infinity" if n > 0 else "-Infinity"
    if n == 0:
        return "0"
    sign = "-" if n < 0 else ""
    _, digit_tuple, exp = Decimal(repr(abs(n))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exp = int(exp) + (len(digit_tuple) - len(digits))
    k = len(digits)
    point = k + exp  # the decimal point sits after `point` digits
    if k <= point <= 21:
        body = digits + "0" * (point - k)
    elif 0 < point <= 21:
        body = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        body = "0." + "0" * (-point) + digits
    else:
        e = point - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + body


def to_string(value: Any) -> str:
    """JavaScript String(value)."""
    t = type(value)
    if t is str:
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if t is int or t is float:
        return number_to_string(value)
    if t is list:
        return ",".join("" if v is None or v is UNDEFINED else to_string(v) for v in value)
    return "[object Object]"


def type_name(value: Any) -> str:
    """The type word Segment's messages use: string, number, boolean, object, array, null, undefined."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    t = type(value)
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if t is str:
        return "string"
    if t is list:
        return "array"
    return "object"


def _lone_surrogate(text: str) -> bool:
    """True when the string holds a UTF-16 half without its pair (String indexing can cut "𐀀" in two),
    which orjson refuses and JSON.stringify writes as an escape."""
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _escaped_string(text: str) -> bytes:
    """JSON.stringify of a string with lone surrogates: the same escapes as JSON.stringify (\\" \\\\ \\b \\f
    \\n \\r \\t, \\u00xx below 0x20, lowercase), and each lone surrogate as \\udxxx."""
    paired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")  # halves side by side
    return json.dumps(paired, ensure_ascii=False).encode("utf-8", "backslashreplace")  # are one character in JS


def _json_ready(value: Any) -> Any:
    """Rewrite what orjson would print differently from JSON.stringify; returns the input when unchanged."""
    t = type(value)
    if t is str:
        return orjson.Fragment(_escaped_string(value)) if _lone_surrogate(value) else value
    if t is float:
        if value != value or value in (math.inf, -math.inf):
            return None
        if value.is_integer():
            if abs(value) <= _SAFE:
                return int(value)
            return orjson.Fragment(number_to_string(value).encode())  # shortest digits, then zeros
        if abs(value) < 1e-4:  # Python and JS disagree on where exponent notation starts
            return orjson.Fragment(number_to_string(value).encode())
        return value
    if t is int:
        if -_SAFE <= value <= _SAFE:
            return value
        return _json_ready(js_double(value))
    if t is dict:
        if any(_lone_surrogate(k) for k in value):  # no key can be a Fragment: write this object here
            return orjson.Fragment(b"{" + b",".join(_escaped_string(k) + b":" + dumps(v) for k, v in value.items()
                                                    if v is not UNDEFINED) + b"}")
        out = None
        for k, v in value.items():
            nv = _json_ready(v)
            if nv is not v or v is UNDEFINED:
                if out is None:
                    out = dict(value)
                if v is UNDEFINED:
                    del out[k]
                else:
                    out[k] = nv
        return value if out is None else out
    if t is list:
        out_list = None
        for i, v in enumerate(value):
            nv = None if v is UNDEFINED else _json_ready(v)
            if nv is not v:
                if out_list is None:
                    out_list = list(value)
                out_list[i] = nv
        return value if out_list is None else out_list
    if value is UNDEFINED:
        return None
    return value


def orjson_exact(value: Any) -> bool:
    """True when orjson already writes `value` exactly as JSON.stringify does: no integral or exponent-range
    float (orjson writes 1.0, 1e+16, 1e-6 where JavaScript writes 1, 10000000000000000, 0.000001) and no
    value orjson cannot write, and no integer beyond 2**53 (JavaScript holds the nearest double: 2**53 + 1
    is written 9007199254740992). Strings, booleans and null need no look (orjson raises TypeError on
    undefined, and dumps() then takes the slow path)."""
    t = type(value)
    if t is dict:
        values: Any = value.values()
    elif t is list:
        values = value
    elif t is float:
        return not value.is_integer() and 1e-5 <= abs(value) < 1e16
    elif t is int:
        return -_SAFE <= value <= _SAFE
    else:
        return True
    for v in values:
        t = type(v)
        if t is str or v is None or t is bool:
            continue
        if t is int:
            if -_SAFE <= v <= _SAFE:
                continue
            return False
        if t is float:
            if v.is_integer() or not 1e-5 <= abs(v) < 1e16:
                return False
        elif t is dict or t is list:
            if not orjson_exact(v):
                return False
        else:
            return False
    return True


def dumps(value: Any) -> bytes:
    """JSON.stringify(value) as UTF-8 bytes: compact, insertion order, raw non-ASCII, JS numbers."""
    try:
        if orjson_exact(value):
            try:
                return orjson.dumps(value)
            except TypeError:  # undefined, an integer beyond 64 bits, or nested deeper than orjson writes
                pass
        return orjson.dumps(_json_ready(value))
    except (TypeError, RecursionError):  # orjson writes 254 levels; JSON.stringify (and an input line) more
        return deep_dumps(value)


def deep_dumps(value: Any) -> bytes:
    """dumps for a value nested deeper than orjson writes: the same bytes, written here, level by level."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 5000))  # an input line nests at most 1024 levels (orjson reads no more)
    try:
        return _stringify(value)
    finally:
        sys.setrecursionlimit(limit)


def _stringify(value: Any) -> bytes:
    t = type(value)
    if t is dict:
        return b"{" + b",".join(_stringify(k) + b":" + _stringify(v) for k, v in value.items()
                                if v is not UNDEFINED) + b"}"
    if t is list:
        return b"[" + b",".join(_stringify(v) for v in value) + b"]"
    if t is str:
        return _escaped_string(value) if _lone_surrogate(value) else orjson.dumps(value)
    if t is int or t is float:
        number = value if t is float or -_SAFE <= value <= _SAFE else js_double(value)
        return number_to_string(number).encode() if math.isfinite(number) else b"null"
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    if value is None or value is UNDEFINED:  # undefined: inside an array (an object leaves its key out)
        return b"null"
    raise TypeError(f"{type(value).__name__} is not a JSON value")
