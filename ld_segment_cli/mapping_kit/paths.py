"""Segment's path language (mapping-kit MK10-MK12): splitting a path into keys once, and walking an event
with JavaScript property semantics (falsy stop, array/string `length` and indexes) in a compiled closure."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from ..js import UNDEFINED, truthy

Getter = Callable[[Any], Any]

# MK11: split at ".", at "[" before a quote or digit, and at a run of "]" after a quote or digit.
_SPLITTER: Final = re.compile(r"\.|\[(?=['\"0-9])|(?<=['\"0-9])\]+")
_MAX_ARRAY_INDEX: Final = 2**32 - 2


def strip_root(path: str) -> str:
    """`@path` and `@arrayPath` remove the first occurrence of "$." anywhere in the text (MK10)."""
    return path.replace("$.", "", 1)


@lru_cache(maxsize=1024)
def split_path(path: str) -> tuple[str, ...]:
    """The keys of a path (MK11), without stripping "$.": empty pieces dropped, quotes deleted."""
    return tuple(piece.replace("'", "").replace('"', "") for piece in _SPLITTER.split(path) if piece)


def array_index(key: str) -> int | None:
    """The index a key names on a JS array or string (a canonical non-negative integer), else None."""
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        index = int(key)
        if index <= _MAX_ARRAY_INDEX:
            return index
    return None


def js_length(text: str) -> int:
    """JavaScript `string.length`: UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf16_units(text: str) -> list[str]:
    """The string as JavaScript sees it: one entry per UTF-16 code unit (astral characters become
    their two surrogate halves)."""
    if text.isascii() or all(ord(ch) <= 0xFFFF for ch in text):
        return list(text)
    raw = text.encode("utf-16-le", "surrogatepass")
    return [raw[i : i + 2].decode("utf-16-le", "surrogatepass") for i in range(0, len(raw), 2)]


def _char_at(text: str, index: int) -> Any:
    if text.isascii():
        return text[index] if index < len(text) else UNDEFINED
    units = utf16_units(text)
    return units[index] if index < len(units) else UNDEFINED


def member(current: Any, key: str, index: int | None) -> Any:
    """`current && current[key]` with JS semantics, for one precomputed key (MK12)."""
    kind = type(current)
    if kind is dict:
        return current.get(key, UNDEFINED)
    if not truthy(current):
        return current
    if kind is list:
        if index is not None:
            return current[index] if index < len(current) else UNDEFINED
        return len(current) if key == "length" else UNDEFINED
    if kind is str:
        if index is not None:
            return _char_at(current, index)
        return js_length(current) if key == "length" else UNDEFINED
    return UNDEFINED  # numbers and booleans have no own properties


def _identity(obj: Any) -> Any:
    return obj


def compile_keys(keys: tuple[str, ...]) -> Getter:
    """A closure walking `keys` from its argument: plain dict.get steps, unrolled for short paths."""
    steps = tuple((key, array_index(key)) for key in keys)
    if not steps:
        return _identity
    if len(steps) == 1:
        ((k0, i0),) = steps

        def get1(obj: Any) -> Any:
            if type(obj) is dict:
                return obj.get(k0, UNDEFINED)
            return member(obj, k0, i0)

        return get1
    if len(steps) == 2:
        (k0, i0), (k1, i1) = steps

        def get2(obj: Any) -> Any:
            cur = obj.get(k0, UNDEFINED) if type(obj) is dict else member(obj, k0, i0)
            if type(cur) is dict:
                return cur.get(k1, UNDEFINED)
            return member(cur, k1, i1)

        return get2
    if len(steps) == 3:
        (k0, i0), (k1, i1), (k2, i2) = steps

        def get3(obj: Any) -> Any:
            cur = obj.get(k0, UNDEFINED) if type(obj) is dict else member(obj, k0, i0)
            cur = cur.get(k1, UNDEFINED) if type(cur) is dict else member(cur, k1, i1)
            if type(cur) is dict:
                return cur.get(k2, UNDEFINED)
            return member(cur, k2, i2)

        return get3

    def get_n(obj: Any) -> Any:
        cur = obj
        for key, index in steps:
            cur = cur.get(key, UNDEFINED) if type(cur) is dict else member(cur, key, index)
        return cur

    return get_n


@lru_cache(maxsize=1024)
def template_getter(path: str) -> Getter:
    """The lookup a `{{path}}` placeholder does: no "$." stripping (MK15)."""
    return compile_keys(split_path(path))


@lru_cache(maxsize=1024)
def path_getter(path: str) -> Getter:
    """The lookup `@path` and `@arrayPath` do: first "$." removed, then split (MK10-MK11)."""
    return compile_keys(split_path(strip_root(path)))


def lookup(obj: Any, path: str | list[Any] | tuple[Any, ...]) -> Any:
    """Segment's `get(obj, path)` exactly (the "get path" vectors): a string path is split without
    stripping "$."; a list path is used key by key. UNDEFINED when missing."""
    if isinstance(path, str):
        return template_getter(path)(obj)
    return compile_keys(tuple(str(key) for key in path))(obj)


def get_path(obj: Any, path: str | list[Any] | tuple[Any, ...]) -> Any:
    """What `{"@path": path}` yields on `obj`: the first "$." is removed, then `lookup` (MK10-MK12).
    (For paths without "$.", identical to Segment's `get`.) UNDEFINED when missing."""
    if isinstance(path, str):
        return path_getter(path)(obj)
    return lookup(obj, path)
