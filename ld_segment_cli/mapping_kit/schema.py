"""Action fields and what Segment does with a mapped payload before `perform`: schema-aware removal of
empty values (MK41), Ajv 8 coercion and validation (MK43-MK44) and its human-readable errors (MK45).

`compile_fields` turns the field definitions into one closure per field once; the per-event path is dict
lookups, type checks and those closures, and only builds messages when something is wrong.

Field-to-schema rules follow `fields-to-jsonschema.ts`: string/text/password are strings, datetime is
string-or-number with the `date-like` format, `multiple` makes an array of the base type (choices move to
the items), `allow_null` adds null (except on an object with properties), number minimum/maximum are value
limits and string minimum/maximum length limits (both ignored when 0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..js import UNDEFINED, dumps, number_to_string, to_string
from .dates import is_date_like, js_string_to_number

FIELD_TYPES: Final = frozenset(
    {"string", "text", "password", "number", "integer", "boolean", "object", "datetime"}
)


@dataclass(frozen=True, slots=True)
class Field:
    """One action field (or setting), as Segment's destination definitions declare it."""

    key: str
    label: str
    type: str  # 'string'|'text'|'password'|'number'|'integer'|'boolean'|'object'|'datetime'
    required: bool = False
    multiple: bool = False
    allow_null: bool = False
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    format: str | None = None
    properties: tuple[Field, ...] | None = None
    additional_properties: bool = False
    default: Any = UNDEFINED
    description: str = ""


class PayloadError(Exception):
    """A payload (or settings object) that Segment's validation rejects; `message` is Segment's text."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = tuple(messages)
        self.message = " ".join(self.messages)
        super().__init__(self.message)


# ---------------------------------------------------------------------------------------------------------
# Formats (ajv-formats + Segment's own). Unknown formats are a configuration error, as in Ajv's strict mode.

_HOSTNAME_RE: Final = re.compile(
    r"(?=.{1,253}\.?\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?)*\.?\Z",
    re.IGNORECASE | re.ASCII | re.DOTALL,
)
_FORMATS: Final[dict[str, Callable[[str], bool]]] = {
    "date-like": is_date_like,
    "hostname": lambda s: _HOSTNAME_RE.match(s) is not None,
    "text": lambda s: True,
    "password": lambda s: True,
}
_FORMAT_LABELS: Final = {
    "date-time": "date and time", "time": "time", "date": "date", "email": "email address",
    "hostname": "hostname", "ipv4": "IPv4 address", "ipv6": "IPv6 address", "uri": "URI",
    "uri-reference": "URI Reference", "uri-template": "URI-template", "json-pointer": "JSON Pointer",
    "relative-json-pointer": "relative JSON Pointer", "regex": "regular expression",
}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# The JSON schema Segment generates for a field, reduced to what validation looks at.


@dataclass(frozen=True, slots=True)
class _Schema:
    types: tuple[str, ...]
    title: str | None = None
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    format: str | None = None
    properties: tuple[tuple[str, _Schema], ...] | None = None
    required: tuple[str, ...] = ()
    additional: bool = True
    items: _Schema | None = None


def _base_types(field: Field) -> tuple[str, ...]:
    if field.type not in FIELD_TYPES:
        raise ValueError(f"field '{field.key}': unknown type '{field.type}'")
    if field.type in ("string", "text", "password"):
        return ("string",)
    if field.type == "datetime":
        return ("string", "number")
    return (field.type,)


def _object_schema(fields: Sequence[Field], additional: bool, title: str | None = None) -> _Schema:
    return _Schema(
        types=("object",),
        title=title,
        properties=tuple((f.key, _field_schema(f)) for f in fields),
        required=tuple(f.key for f in fields if f.required),
        additional=additional,
    )


def _field_schema(field: Field) -> _Schema:
    base = _base_types(field)
    fmt = field.format
    if field.type == "datetime":
        fmt = "date-like"
    elif field.type in ("password", "text"):
        fmt = field.type
    if fmt is not None and fmt not in _FORMATS:
        raise ValueError(f"field '{field.key}': unsupported format '{fmt}'")
    enum = tuple(c["value"] if isinstance(c, dict) else c for c in field.choices) if field.choices else None
    types = (*base, "null") if field.allow_null else base
    if enum is not None and field.allow_null:
        enum = (*enum, None)
    minimum = maximum = min_length = max_length = None
    if field.type == "number":
        minimum = field.minimum or None
        maximum = field.maximum or None
    elif field.type == "string":
        min_length = int(field.minimum) if field.minimum else None
        max_length = int(field.maximum) if field.maximum else None
    if field.multiple:
        if field.type == "object" and field.properties:
            items = _object_schema(field.properties, field.additional_properties)
        else:
            items = _Schema(types=base, enum=enum)
        return _Schema(types=("array",), title=field.label, format=fmt, items=items)
    if field.type == "object" and field.properties:
        return _object_schema(field.properties, field.additional_properties, title=field.label)
    return _Schema(types, field.label, enum, minimum, maximum, min_length, max_length, fmt)


# ---------------------------------------------------------------------------------------------------------
# Messages (ajv-human-errors with fieldLabels: 'title').


def _humanize_list(items: Sequence[str], conjunction: str) -> str:
    if not items:
        return "nothing"
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conjunction} {items[1]}"
    return f"{', '.join(items[:-1])}, {conjunction} {items[-1]}"


def _article(word: str) -> str:
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


def _humanize_type_of(value: Any) -> str:
    if value is None:
        return "null"
    t = type(value)
    if t is list:
        return "an array"
    if t is dict:
        return "an object"
    if t is str:
        return "a string"
    if t is bool:
        return "a boolean"
    if t is int or t is float:
        return "a number"
    return "undefined"


def _sentence(subject: str, rest: str) -> str:
    return f"{subject[:1].upper()}{subject[1:]} {rest}."


def _subject(schema: _Schema, path: str) -> str:
    if schema.title:
        return schema.title
    return f"the value at {path}" if path else "the root value"


def _utf16_length(s: str) -> int:
    return len(s) + sum(1 for c in s if c > "\uffff")  # JavaScript's String.length, used in the message


def _chars(n: int) -> str:
    return f"{n} character" if n == 1 else f"{n} characters"


def _escape_pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# ---------------------------------------------------------------------------------------------------------
# Type checks and Ajv's coercion (coerceTypes: "array").


def _is_type(value: Any, t: str) -> bool:
    vt = type(value)
    if t == "string":
        return vt is str
    if t == "number":
        return vt is int or vt is float
    if t == "integer":
        return vt is int or (vt is float and (value.is_integer() or math.isinf(value)))
    if t == "boolean":
        return vt is bool
    if t == "object":
        return vt is dict
    if t == "array":
        return vt is list
    if t == "null":
        return value is None
    return False


def _matches(value: Any, types: tuple[str, ...]) -> bool:
    return any(_is_type(value, t) for t in types)


_NO_VALUE: Final = object()
_PY_TYPES: Final = {"string": str, "boolean": bool, "object": dict, "array": list, "null": type(None)}


def _coerce_to(value: Any, t: str) -> Any:
    """One branch of Ajv's coercion chain: the coerced value, or _NO_VALUE when this branch does not apply."""
    vt = type(value)
    if t == "string":
        if vt is int or vt is float or vt is bool:
            return to_string(value)
        return "" if value is None else _NO_VALUE
    if t in ("number", "integer"):
        if vt is bool:
            return 1 if value else 0
        if value is None:
            return 0
        if vt is str and value:
            n = js_string_to_number(value)
            if n != n:
                return _NO_VALUE
            if t == "integer" and not (math.isinf(n) or n.is_integer()):
                return _NO_VALUE
            return int(n) if n.is_integer() and abs(n) < 2**53 else n
        return _NO_VALUE
    if t == "boolean":
        if value == "false" or value is None or ((vt is int or vt is float) and value == 0):
            return False
        if value == "true" or ((vt is int or vt is float) and value == 1):
            return True
        return _NO_VALUE
    if t == "null":
        if value == "" or value is False or ((vt is int or vt is float) and value == 0):
            return None
        return _NO_VALUE
    if t == "array":
        if vt in (str, int, float, bool) or value is None:
            return [value]
        return _NO_VALUE
    return _NO_VALUE


def _js_equal(a: Any, b: Any) -> bool:
    """Ajv's enum comparison (deep equality) without Python's True == 1."""
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool or a is None or b is None:
        return a is b
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a == b
    if ta is not tb:
        return False
    if ta is list:
        return len(a) == len(b) and all(_js_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict:
        return a.keys() == b.keys() and all(_js_equal(v, b[k]) for k, v in a.items())
    return bool(a == b)


# ---------------------------------------------------------------------------------------------------------
# Compiled validators. A node takes (value, JSON-pointer path, error list) and returns the coerced value
# (the same object when nothing changed); it never mutates its input.

_Node = Callable[[Any, str, list[str]], Any]


def _keeps_empty(schema: _Schema | None, value: Any) -> bool:
    """removeEmptyValues below the top level: drop null unless allowed, "" unless a string is allowed."""
    if value is UNDEFINED:  # undefined array elements (MK40) are dropped like empty values
        return False
    if schema is None:
        return True
    if value is None:
        return "null" in schema.types
    if value == "" and type(value) is str:
        return "string" in schema.types
    return True


def _compile_node(schema: _Schema) -> _Node:
    types = schema.types
    coerce_to = tuple(t for t in types if t in ("string", "number", "integer", "boolean", "null", "array"))
    enum = schema.enum
    check_format = _FORMATS[schema.format] if schema.format not in (None, "text", "password") else None
    format_label = _FORMAT_LABELS.get(schema.format or "", schema.format)
    expected = _humanize_list(list(types), "or")
    type_message = f"must be {_article(expected)} {expected} but it was"
    allowed = _humanize_list([dumps(v).decode() for v in enum], "or") if enum is not None else ""
    enum_message = f"must be one of: {allowed}"
    minimum, maximum = schema.minimum, schema.maximum
    min_length, max_length = schema.min_length, schema.max_length
    item_node = _compile_node(schema.items) if schema.items is not None else None
    item_schema = schema.items
    object_check = _compile_object(schema) if schema.properties is not None else None

    py_types = frozenset(_PY_TYPES[t] for t in types if t in _PY_TYPES) | (
        frozenset((int, float)) if "number" in types else frozenset()
    )
    integer = "integer" in types

    def say(path: str, rest: str) -> str:
        return _sentence(_subject(schema, path), rest)

    def node(value: Any, path: str, errors: list[str]) -> Any:
        if item_schema is not None and type(value) is list:  # removeEmptyValues descends into items
            kept = [v for v in value if _keeps_empty(item_schema, v)]
            if len(kept) != len(value):
                value = kept
        current = value
        if type(current) not in py_types and not (integer and _is_type(current, "integer")):
            if coerce_to:
                coerced = _NO_VALUE
                if type(current) is list and len(current) == 1:
                    current = current[0]  # Ajv keeps the unwrapped element even when it then fails
                    if _matches(current, types):
                        coerced = current
                if coerced is _NO_VALUE:
                    for t in coerce_to:
                        coerced = _coerce_to(current, t)
                        if coerced is not _NO_VALUE:
                            break
                if coerced is _NO_VALUE:
                    errors.append(say(path, f"{type_message} {_humanize_type_of(current)}"))
                else:
                    value = current = coerced
            else:
                errors.append(say(path, f"{type_message} {_humanize_type_of(current)}"))
        if enum is not None and not any(_js_equal(current, v) for v in enum):
            errors.append(say(path, enum_message))
        ct = type(current)
        if ct is int or ct is float:
            if maximum is not None and current > maximum:
                errors.append(say(path, f"must be equal to or less than {number_to_string(maximum)}"))
            if minimum is not None and current < minimum:
                errors.append(say(path, f"must be equal to or greater than {number_to_string(minimum)}"))
        elif ct is str:
            if max_length is not None and len(current) > max_length:
                n = _utf16_length(current)
                errors.append(say(path, f"must be {_chars(max_length)} or fewer but it was {_chars(n)}"))
            if min_length is not None and len(current) < min_length:
                n = _utf16_length(current)
                errors.append(say(path, f"must be {_chars(min_length)} or more but it was {_chars(n)}"))
            if check_format is not None and not check_format(current):
                errors.append(say(path, f"must be a valid {format_label} string but it was not"))
        elif ct is list and item_node is not None:
            out = None
            for i, item in enumerate(current):
                new = item_node(item, f"{path}/{i}", errors)
                if new is not item:
                    if out is None:
                        out = list(current)
                    out[i] = new
            if out is not None:
                value = out
        elif ct is dict and object_check is not None:
            value = object_check(current, path, errors)
        return value

    return node


def _compile_object(schema: _Schema) -> _Node:
    """Ajv's object keywords for a schema with properties: required, additionalProperties, properties."""
    assert schema.properties is not None
    plan = tuple((key, sub, _compile_node(sub), "/" + _escape_pointer(key)) for key, sub in schema.properties)
    by_key = {key: sub for key, sub, _, _ in plan}
    required = schema.required
    additional = schema.additional

    def check(value: dict[str, Any], path: str, errors: list[str]) -> dict[str, Any]:
        out = {
            k: v for k, v in value.items() if (additional or k in by_key) and _keeps_empty(by_key.get(k), v)
        }
        for key in required:
            if key not in out:
                errors.append(_sentence(_subject(schema, path), f"is missing the required field '{key}'"))
        for key, _sub, node, suffix in plan:
            v = out.get(key, _NO_VALUE)
            if v is not _NO_VALUE:
                new = node(v, path + suffix, errors)
                if new is not v:
                    out[key] = new
        if len(out) == len(value) and all(out[k] is v for k, v in value.items()):
            return value
        return out

    return check


def _fast_types(schema: _Schema) -> frozenset[type]:
    """Python types a top-level value may have to be valid as is, skipping the field's closure."""
    if schema.enum is not None or schema.items is not None or schema.properties is not None:
        return frozenset()
    fast: set[type] = set()
    for t in schema.types:
        if t == "string":
            if schema.format in (None, "text", "password") and schema.min_length == schema.max_length is None:
                fast.add(str)
        elif t == "number" and schema.minimum is None and schema.maximum is None:
            fast.update((int, float))
        elif t == "boolean":
            fast.add(bool)
        elif t == "object":
            fast.add(dict)
        elif t == "null":
            fast.add(type(None))
    return frozenset(fast)


def compile_fields(fields: Sequence[Field], *, remove_empty: bool = True) -> Callable[[Any], dict[str, Any]]:
    """Compile action fields into `validate(payload) -> new dict` (raises PayloadError).

    `remove_empty=True` is an action payload (removeEmptyValues with root=True first); settings are
    validated with `remove_empty=False` (MK46).
    """
    keys = [f.key for f in fields]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate field keys")
    root = _object_schema(fields, additional=False)
    assert root.properties is not None
    known = frozenset(keys)
    nullable = frozenset(key for key, sub in root.properties if "null" in sub.types)
    required = root.required
    plan = tuple(
        (key, _fast_types(sub), _compile_node(sub), "/" + _escape_pointer(key), sub.items is not None)
        for key, sub in root.properties
    )

    def validate(payload: Any) -> dict[str, Any]:
        if type(payload) is not dict:
            raise PayloadError([f"The root value must be an object but it was {_humanize_type_of(payload)}."])
        if remove_empty:
            out = {
                k: v
                for k, v in payload.items()
                if k in known and (v is not None or k in nullable) and v != ""
            }
        else:
            out = {k: v for k, v in payload.items() if k in known}
        errors: list[str] = []
        for key in required:
            if key not in out:
                errors.append(f"The root value is missing the required field '{key}'.")
        get = out.get
        for key, fast, node, path, multiple in plan:
            v = get(key, _NO_VALUE)
            if v is _NO_VALUE or type(v) in fast:
                continue
            if multiple and type(v) is not list and v is not None:
                v = out[key] = [v]  # arrifyFields: Segment wraps top-level values of multiple fields itself
            new = node(v, path, errors)
            if new is not v:
                out[key] = new
        if errors:
            raise PayloadError(errors)
        return out

    return validate
