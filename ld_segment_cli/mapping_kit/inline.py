"""A mapping's top-level fields resolved by one generated function instead of a tree of closures.

The closures of directives.py cost a Python call per node; an action's mapping is resolved for every event,
and the presets' fields are a dozen such calls. For the shapes that dominate real mappings (constants,
static `@path`s, "`@path` P if it exists, else `@path` Q") this module writes the lookups out as Python
source, compiled once per mapping; every other field calls its compiled resolver, so the result is exactly
what `compile_field_resolvers` gives, key for key (tests/test_one_pass_mapping.py checks the two agree).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from string import Template
from typing import Any

from ..js import UNDEFINED
from .directives import MappingError, compile_field_resolvers, is_directive
from .paths import array_index, member, split_path, strip_root

FieldsResolver = Callable[[dict[str, Any]], tuple[Any, ...]]


class _Source:
    """The generated function's text and the objects its names stand for (no value is ever printed into
    the source: keys and constants are bound by name, so no quoting can go wrong)."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"U": UNDEFINED, "member": member}
        self._count = 0
        self._top: dict[str, str] = {}  # top-level key of the event -> its placeholder

    def bind(self, value: Any) -> str:
        name = f"_c{len(self.names)}"
        self.names[name] = value
        return name

    def temp(self) -> str:
        self._count += 1
        return f"_t{self._count}"

    def top(self, key: str) -> str:
        """`event.get(key, U)`, as a placeholder that `finish` turns into one read at the top of the function
        when several fields read the same key (the presets read `properties` three times, `anonymousId`
        twice). A read of an object's own key has no effect and cannot fail, so it can move."""
        if key not in self._top:
            self._top[key] = f"\x00{len(self._top)}\x00"
        return self._top[key]

    def finish(self, lines: list[str]) -> tuple[list[str], list[str]]:
        """The hoisted reads and the lines with every placeholder replaced."""
        text = "\n".join(lines)
        hoisted = []
        for key, mark in self._top.items():
            read = f"event.get({self.bind(key)}, U)"
            if text.count(mark) > 1:
                name = f"_e{len(hoisted)}"
                hoisted.append(f"{name} = {read}")
                read = name
            text = text.replace(mark, read)
        return hoisted, text.split("\n") if text else []


def _path_keys(mapping: Any) -> tuple[str, ...] | None:
    """The keys of `{"@path": "<static path>"}` (and nothing else in the object), else None."""
    if type(mapping) is not dict or len(mapping) != 1 or type(mapping.get("@path")) is not str:
        return None
    keys = split_path(strip_root(mapping["@path"]))
    return keys or None  # an empty path is the whole payload: left to the resolver


def _walk(src: _Source, start: str, keys: Sequence[str]) -> str:
    """An expression reading keys from `start` (an object) as paths.compile_keys does."""
    expr = src.top(keys[0]) if start == "event" else f"{start}.get({src.bind(keys[0])}, U)"
    for key in keys[1:]:
        t = src.temp()
        k = src.bind(key)
        expr = f"({t}.get({k}, U) if type({t} := {expr}) is dict else member({t}, {k}, {src.bind(array_index(key))}))"
    return expr


def _inline(src: _Source, value: Any) -> str | None:
    """An expression for one field's mapping, or None when the shape is not one this module writes out."""
    if value is None or type(value) in (str, int, float, bool):
        return src.bind(value)
    keys = _path_keys(value)
    if keys is not None:
        return _walk(src, "event", keys)
    if type(value) is dict and len(value) == 1 and not is_directive(value):  # {"k": <path or constant>}
        ((key, inner),) = value.items()
        expr = _inline(src, inner) if type(inner) is not dict or _path_keys(inner) is not None else None
        if expr is not None:  # Segment leaves out a key whose value is undefined
            t = src.temp()
            return f"({{{src.bind(key)}: {t}}} if ({t} := {expr}) is not U else {{}})"
        return None
    if is_directive(value) and len(value) == 1 and type(value.get("@if")) is dict:
        opts = value["@if"]
        if set(opts) <= {"exists", "then", "else"} and "then" in opts and opts["then"] == opts.get("exists"):
            first = _path_keys(opts["exists"])
            otherwise = opts.get("else", UNDEFINED)
            rest = _path_keys(otherwise)
            if first is not None and (rest is not None or otherwise in (UNDEFINED, None, False, 0, "")):
                t = src.temp()
                fallback = _walk(src, "event", rest) if rest is not None else "U"
                return f"({t} if ({t} := {_walk(src, 'event', first)}) is not None and {t} is not U else {fallback})"
    return None


def one_key_object(value: Any) -> str | None:
    """The key of `{"key": <static @path or constant>}` (a field whose value is an object of one entry,
    such as the presets' additional_context_keys), else None. compile_with_fields can `unwrap` such a field."""
    if type(value) is not dict or len(value) != 1 or is_directive(value):
        return None
    ((key, inner),) = value.items()
    if type(inner) is dict and _path_keys(inner) is None:
        return None
    return key if _inline(_Source(), inner) is not None else None


def compile_with_fields(mapping: Any, keys: Sequence[str], name: str, tail: str, names: dict[str, Any],
                        on_error: str | None = None, unwrap: Sequence[str] = ()) -> Callable[[Any], Any] | None:
    """Compile `def <name>(event)` from generated source: first every top-level key of the mapping is resolved
    into a local, in Segment's order (so the same MappingError is raised), then `tail` runs: Python source
    indented by four spaces, in which `$key` stands for the local holding that key of `keys` (`U`, the
    undefined marker, when the mapping has no such key). `names` are the tail's globals; `on_error`, when
    given, is the statement run instead of letting a MappingError out. The event must be an object.
    A key in `unwrap` (its value must be a one_key_object) holds the value of its one entry instead of the
    object: U where the object would be {} (Segment leaves out an entry whose value is undefined).
    None when compile_field_resolvers is None (the mapping is not a plain object of fields)."""
    resolvers = compile_field_resolvers(mapping)
    if resolvers is None:
        return None
    src = _Source()
    body: list[str] = []
    local: dict[str, str] = {}
    for n, (key, resolver) in enumerate(resolvers.items()):
        if key in unwrap:
            if one_key_object(mapping[key]) is None:
                raise ValueError(f"{key!r} is not an object of one entry")
            expr = _inline(src, next(iter(mapping[key].values())))
        else:
            expr = _inline(src, mapping[key])
        if expr is None:
            expr = f"{src.bind(resolver)}(event)"
        local[key] = f"_v{n}"
        body.append(f"_v{n} = {expr}")
    hoisted, body = src.finish(body)
    resolve = "".join(f"    {line}\n" for line in hoisted)
    if on_error is not None:
        resolve += "    try:\n" + "".join(f"        {line}\n" for line in body)
        resolve += f"    except MappingError:\n        {on_error}\n"
    else:
        resolve += "".join(f"    {line}\n" for line in body)
    text = f"def {name}(event):\n{resolve}{Template(tail).substitute({key: local.get(key, 'U') for key in keys})}"
    clash = set(names) & set(src.names)
    if clash:
        raise ValueError(f"names {sorted(clash)} are the generator's own")
    namespace = {**src.names, "MappingError": MappingError, **names}
    exec(compile(text, f"<mapping fields {', '.join(keys)}: {name}>", "exec"), namespace)
    function: Callable[[Any], Any] = namespace[name]
    function.source = text  # type: ignore[attr-defined]  # for tests and debugging
    return function


def compile_fields_tuple(mapping: Any, keys: Sequence[str]) -> FieldsResolver | None:
    """`resolve(event) -> tuple`: the value of each of `keys` in the mapping (UNDEFINED when the mapping has
    no such key or it resolves to undefined), every top-level key evaluated in Segment's order so that the
    same MappingError is raised. The event must be an object. None when compile_field_resolvers is None."""
    result = "".join(f"${key}, " for key in keys)
    return compile_with_fields(mapping, keys, "resolve_fields", f"    return ({result})\n", {})
