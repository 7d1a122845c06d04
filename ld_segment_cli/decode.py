"""Reading an input line into an event, as JSON.parse would, and reading only what a run looks at.

`parse_line` is the reference: orjson, with JSON.parse's reading of numbers beyond a double's range
(±Infinity, which orjson refuses). `Projection` is the hot path's reader when every key the run can read
is known before it starts (see Engine.read_keys): msgspec decodes those top-level keys and checks the
rest of the line without building it (an export's `context`, `integrations`, `sentAt`... are about half
of every line and no preset reads them). Whatever msgspec refuses, or could judge differently from the
reference (a non-ASCII line: msgspec does not check UTF-8 in the values it skips; a line long enough to
nest deeper than orjson's 1024 levels), is read again by `parse_line`, so a line is accepted or
rejected, and with the same reason, whichever reader saw it."""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Final, TypedDict

import msgspec
import orjson

_INFINITY_ERROR: Final = "number is infinity when parsed as double"
_ORJSON_INT_MIN: Final = -(2**63)
_ORJSON_INT_MAX: Final = 2**64 - 1


def parse_line(raw: bytes) -> tuple[Any, str | None]:
    """Parse one line into an event object, or explain in one sentence why it is not one."""
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if not str(exc).startswith(_INFINITY_ERROR):
            return None, _json_problem(raw, exc)
        event, error = _parse_with_infinity(raw)
        if error is not None:
            return None, error
    if type(event) is not dict:
        return None, f"the line is {_kind_of(event)}, not a JSON object"
    return event, None


def _orjson_int(text: str) -> int | float:
    """An integer literal as orjson reads one: an int within 64 bits, else the nearest double (JSON.parse's
    value; a literal beyond a double's range is Infinity)."""
    if len(text) <= 20:
        value = int(text)
        if _ORJSON_INT_MIN <= value <= _ORJSON_INT_MAX:
            return value
    return float(text)


_NUMBER: Final = re.compile(r"-?[0-9][0-9.eE+-]*")
_MAX_INFINITIES: Final = 1000


def _parse_with_infinity(raw: bytes) -> tuple[Any, str | None]:
    """A line that orjson refuses for a number beyond a double's range: JSON.parse reads such a number as
    ±Infinity (written out as null), so it is not a reason to reject the line. orjson judges the rest of
    the line (each such number written as a 0 padded with spaces, so that it goes on and its columns stay
    where they were), then Python's json module reads the values, numbers as orjson and JSON.parse do."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return None, f"the line is not valid UTF-8 (byte 0x{raw[bad.start]:02x} at byte {bad.start + 1})"
    checked = text
    for _ in range(_MAX_INFINITIES):
        try:
            orjson.loads(checked)
            break
        except orjson.JSONDecodeError as exc:
            number = _NUMBER.match(checked, exc.pos) if str(exc).startswith(_INFINITY_ERROR) else None
            if number is None:
                return None, _json_problem(raw, exc)
            checked = checked[:exc.pos] + "0".ljust(number.end() - exc.pos) + checked[number.end():]
    else:
        return None, f"invalid JSON: more than {_MAX_INFINITIES} numbers beyond a double's range"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4000))  # orjson allowed up to 1024 levels; json recurses once per level
    try:
        return json.loads(text, parse_int=_orjson_int), None
    finally:
        sys.setrecursionlimit(limit)


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"


def _json_problem(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """orjson's message, made specific for what users actually meet in exports."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"the line is not valid UTF-8 (byte 0x{raw[bad.start]:02x} at byte {bad.start + 1})"
    message = str(exc)
    if message.startswith("depth limit exceeded"):
        return "invalid JSON: nested deeper than 1024 levels"
    at = raw[exc.pos:exc.pos + 9]
    if at.startswith((b"NaN", b"Infinity", b"-Infinity")):
        return f"invalid JSON: NaN and Infinity are not JSON numbers (column {exc.colno})"
    return f"invalid JSON: {message}"


SHALLOW: Final = 2049  # bytes: a line this short cannot nest deeper than orjson's 1024 levels


class Projection:
    """Reads the given top-level keys of an event line (an object holding only those of them it has), with
    the same verdict on the line as parse_line. `read` and `sound` are for hot loops:

        try:
            event = read(raw)
        except REFUSED:
            event = None
        if event is not None and not (raw.isascii() and len(raw) <= SHALLOW) and not sound(raw):
            event = None
        if event is None:
            event, error = parse_line(raw)   # the reference decides

    What msgspec cannot be trusted to judge as orjson does goes to the reference: a non-ASCII line (msgspec
    checks UTF-8 only in the strings it keeps) and a line that may nest deeper than 1024 levels (msgspec's
    limit is Python's recursion limit, which a program may raise). msgspec's values equal orjson's but for
    integers beyond 64 bits, which msgspec keeps exact where orjson reads the nearest double: js.py treats
    such an integer as that double everywhere it looks at numbers."""

    REFUSED: Final = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)

    def __init__(self, keys: frozenset[str]) -> None:
        self.keys = keys
        shape = TypedDict("Event", dict.fromkeys(sorted(keys), Any), total=False)  # type: ignore[misc]
        self.read = msgspec.json.Decoder(shape).decode

    @staticmethod
    def sound(raw: bytes) -> bool:
        """True when msgspec's verdict on this line (non-ASCII or long) stands: valid UTF-8 throughout, and
        too few brackets to nest deeper than orjson allows."""
        if not raw.isascii():
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return False
        return len(raw) <= SHALLOW or raw.count(b"[") + raw.count(b"{") <= 1024

    def parse(self, raw: bytes) -> tuple[Any, str | None]:
        """parse_line's result, projected on the keys (the reference's object when msgspec refused the line)."""
        try:
            event = self.read(raw)
        except self.REFUSED:
            return parse_line(raw)
        if not (raw.isascii() and len(raw) <= SHALLOW) and not self.sound(raw):
            return parse_line(raw)
        return event, None
