"""Segment's validate.ts compiled once per trigger into nested closures (fql.md section 6): the per-event
path does dict lookups and comparisons only. Also the step-by-step JavaScript semantics explain reuses."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from ..js import UNDEFINED, js_double, to_string
from ..mapping_kit.dates import js_string_to_number
from ..mapping_kit.paths import array_index, compile_keys, member, utf16_units
from .tree import FIELD_OF_TYPE, PATH_ROOTS, Condition, EmptyGroup, Group, Node

Predicate = Callable[[Any], bool]
Compare = Callable[[Any], bool]

_PATH_KEYS: Final = re.compile(r"[^[.\]]+")  # get.ts: path.match(/([^[.\]])+/g)
_STRING_OPS: Final = (
    "contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with"
)


class JsThrow(Exception):
    """Segment's evaluator would throw a TypeError here; the event is then never sent."""


def js_number(value: Any) -> float:
    """JavaScript Number(value) for the values a tree holds: numbers, booleans and strings."""
    if value is True or value is False:
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return js_string_to_number(value)


def path_keys(name: str | None) -> tuple[str, ...] | None:
    """get.ts's split of a condition path; None when Segment's lookup throws (no key in the path)."""
    keys = tuple(_PATH_KEYS.findall(name or ""))
    return keys if keys else None


def _has_lone_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _units(text: str) -> str:
    return "".join(utf16_units(text))


def comparator(operator: str, expected: Any) -> Compare:
    """validateValue(actual, operator, expected) with `expected` fixed: a one-argument test."""
    if operator == "=":
        text = to_string(expected)
        return lambda a: a == text  # equal only when `a` is that very string
    if operator == "!=":
        text = to_string(expected)
        return lambda a: a != text
    if operator in ("number_equals", "number_not_equals", "<", "<=", ">", ">="):
        return _number_comparator(operator, js_number(expected))
    if operator in _STRING_OPS:
        return _string_comparator(operator, to_string(expected))
    if operator == "exists":
        return lambda a: a is not None and a is not UNDEFINED
    if operator == "not_exists":
        return lambda a: a is None or a is UNDEFINED
    if operator == "is_true":
        return lambda a: a is True
    if operator == "is_false":
        return lambda a: a is False
    return lambda a: False  # any other operator text (R32 last bullet)


def _number_comparator(operator: str, e: float) -> Compare:
    # typeof actual === 'number' (bool is not a number); JS compares doubles, hence js_double(a)
    if operator == "number_equals":
        return lambda a: (type(a) is int or type(a) is float) and js_double(a) == e
    if operator == "number_not_equals":
        return lambda a: (type(a) is int or type(a) is float) and js_double(a) != e
    if operator == "<":
        return lambda a: (type(a) is int or type(a) is float) and js_double(a) < e
    if operator == "<=":
        return lambda a: (type(a) is int or type(a) is float) and js_double(a) <= e
    if operator == ">":
        return lambda a: (type(a) is int or type(a) is float) and js_double(a) > e
    return lambda a: (type(a) is int or type(a) is float) and js_double(a) >= e


def _string_comparator(operator: str, needle: str, unitwise: bool = False) -> Compare:
    if not unitwise and _has_lone_surrogate(needle):
        # a match() pattern sliced through a surrogate pair: compare UTF-16 code units as JavaScript does
        inner = _string_comparator(operator, _units(needle), True)
        return lambda a: type(a) is str and inner(_units(a))
    if operator == "contains":
        return lambda a: type(a) is str and needle in a
    if operator == "not_contains":
        return lambda a: type(a) is str and needle not in a
    if operator == "starts_with":
        return lambda a: type(a) is str and a.startswith(needle)
    if operator == "not_starts_with":
        return lambda a: type(a) is str and not a.startswith(needle)
    if operator == "ends_with":
        return lambda a: type(a) is str and a.endswith(needle)
    return lambda a: type(a) is str and not a.endswith(needle)


def _throws(_: Any) -> bool:
    raise JsThrow


def compile_condition(c: Condition) -> Predicate:
    """A closure over an event dict for one condition; direct dict lookups for the common shapes."""
    test = comparator(c.operator, c.value)
    if c.type in FIELD_OF_TYPE:
        key = FIELD_OF_TYPE[c.type]
        if c.operator == "=":
            text = to_string(c.value)
            return lambda ev: ev.get(key) == text
        if c.operator == "!=":
            text = to_string(c.value)
            return lambda ev: ev.get(key) != text
        return lambda ev: test(ev.get(key, UNDEFINED))
    root = PATH_ROOTS[c.type]
    if not c.name:  # get.ts returns undefined for an empty path (unreachable from text, kept for trees)
        return lambda ev: test(UNDEFINED)
    keys = path_keys(c.name)
    if keys is None:
        return _throws
    if len(keys) == 1:
        k = keys[0]
        index = array_index(k)
        if c.operator == "=" and index is None and k != "length":
            text = to_string(c.value)

            def equals(ev: dict[str, Any]) -> bool:
                obj = ev.get(root, UNDEFINED)
                if type(obj) is dict:
                    return obj.get(k) == text
                return member(obj, k, index) == text

            return equals

        def one_key(ev: dict[str, Any]) -> bool:
            obj = ev.get(root, UNDEFINED)
            if type(obj) is dict:
                return test(obj.get(k, UNDEFINED))
            return test(member(obj, k, index))

        return one_key
    walk = compile_keys(keys)
    return lambda ev: test(walk(ev.get(root, UNDEFINED)))


def compile_node(node: Node) -> Predicate:
    if isinstance(node, Condition):
        return compile_condition(node)
    if isinstance(node, EmptyGroup):
        return _throws  # `undefined` child: validateCondition reads undefined.type
    parts = tuple(compile_node(child) for child in node.children)
    if node.operator not in ("and", "or"):
        return lambda ev: False
    if len(parts) == 1:
        return parts[0]
    if node.operator == "and":
        if len(parts) == 2:
            a, b = parts
            return lambda ev: a(ev) and b(ev)
        if len(parts) == 3:
            a, b, c = parts
            return lambda ev: a(ev) and b(ev) and c(ev)

        return lambda ev: all(part(ev) for part in parts)
    if len(parts) == 2:
        a, b = parts
        return lambda ev: a(ev) or b(ev)
    if len(parts) == 3:
        a, b, c = parts
        return lambda ev: a(ev) or b(ev) or c(ev)

    return lambda ev: any(part(ev) for part in parts)


def can_throw(node: Node) -> bool:
    if isinstance(node, EmptyGroup):
        return True
    if isinstance(node, Condition):
        return node.type in PATH_ROOTS and bool(node.name) and path_keys(node.name) is None
    return any(can_throw(child) for child in node.children)


_EMPTY: Final[dict[str, Any]] = {}


def one_field_equals(tree: Group) -> tuple[str, frozenset[str]] | None:
    """(key, texts) when the tree is `F = "a"` or `F = "a" or F = "b" ...` on one top-level field (type,
    event, userId, ...): then one dict lookup decides it. Else None."""
    if tree.operator not in ("and", "or") or (tree.operator == "and" and len(tree.children) != 1):
        return None
    if not all(isinstance(c, Condition) and c.operator == "=" for c in tree.children):
        return None
    keys = {FIELD_OF_TYPE.get(c.type) for c in tree.children}  # type: ignore[union-attr]
    if len(keys) != 1 or None in keys:
        return None
    return keys.pop(), frozenset(to_string(c.value) for c in tree.children)  # type: ignore[union-attr,misc]


def compile_predicate(tree: Group) -> Predicate:
    """validate(tree, event) as one closure: false for an undefined or null event, a non-object event
    has no fields (R31), and a TypeError inside Segment's evaluator means "not sent"."""
    body = compile_node(tree)

    def other(event: Any) -> bool:
        if event is UNDEFINED or event is None:
            return False
        return body(_EMPTY)  # a string, number or array event: every field reads undefined

    equals = one_field_equals(tree)
    if equals is not None:  # `type = "track"`, `type = "identify" or type = "alias"`: most triggers
        key, texts = equals
        if len(texts) == 1:
            (text,) = texts

            def field_is(event: Any) -> bool:
                if type(event) is dict:
                    return event.get(key) == text
                return other(event)

            return field_is

        def field_in(event: Any) -> bool:
            if type(event) is dict:
                value = event.get(key)
                return type(value) is str and value in texts  # == with a string is true only for that string
            return other(event)

        return field_in

    if not can_throw(tree):

        def predicate(event: Any) -> bool:
            if type(event) is dict:
                return body(event)
            return other(event)

        return predicate

    def guarded(event: Any) -> bool:
        try:
            if type(event) is dict:
                return body(event)
            return other(event)
        except JsThrow:
            return False

    return guarded


def never(_: Any) -> bool:
    """The predicate of a trigger Segment cannot parse: it never matches (R2)."""
    return False
