"""Compiling a mapping into nested closures that resolve it against an event exactly as Segment's
`transform(mapping, event)` does (MK3-MK6, MK10-MK40): every directive, undefined removal, runtime errors.

Each node compiles to `resolve(payload) -> value`. A node compiled "clean" (the mapping's structural
spine, from the root down through raw objects and arrays) drops undefined keys as it builds objects, which
is what Segment's final removeUndefined pass does; directive internals are compiled "faithful" (undefined
kept) because @merge and @flatten observe keys whose value is undefined (MK34), and a directive whose
output may hold undefined values is cleaned at its boundary instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import orjson

from ..js import UNDEFINED, dumps, number_to_string, to_string, truthy, type_name
from .paths import array_index, js_length, path_getter, split_path, strip_root, utf16_units
from .template import compile_template, template_paths
from .validate import (
    DIRECTIVES,
    MAX_PATTERN_LENGTH,
    MAX_REPLACEMENT_LENGTH,
    ROOT_DIRECTIVE_KEY,
    problems_message,
    rewrite_root,
    validate_value,
)

Resolver = Callable[[Any], Any]


class MappingError(Exception):
    """A per-event resolution error, with Segment's message (e.g. "@path: expected string, got number")."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class _Node:
    fn: Resolver
    dirty: bool = False  # the result may hold undefined as an object value somewhere inside it
    constant: bool = False  # a raw scalar: fn always returns the same immutable value


def _constant(value: Any) -> _Node:
    def const(_payload: Any) -> Any:
        return value

    return _Node(const, constant=True)


_UNDEFINED_NODE: Final = _Node(lambda _payload: UNDEFINED)  # not `constant`: objects must drop it


def _raiser(message: str) -> _Node:
    def fail(_payload: Any) -> Any:
        raise MappingError(message)

    return _Node(fail)


def is_directive(value: Any) -> bool:
    """MK4: an object with an @-key whose other keys are @-keys or `_metadata`."""
    if type(value) is not dict:
        return False
    found = False
    for key in value:
        if key.startswith("@"):
            found = True
        elif key != "_metadata":
            return False
    return found


# ---------------------------------------------------------------------------------------------- JS objects


def js_ordered(items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """JavaScript's own-key order: array-index keys ascending first, then the rest in insertion order."""
    items = list(items)
    indexed = [(index, key, value) for key, value in items if (index := array_index(key)) is not None]
    if not indexed:
        return items
    indexed.sort(key=lambda entry: entry[0])
    return [(key, value) for _, key, value in indexed] + [(k, v) for k, v in items if array_index(k) is None]


def _js_object(out: dict[str, Any]) -> dict[str, Any]:
    if any(key[:1].isdigit() and array_index(key) is not None for key in out):
        return dict(js_ordered(out.items()))
    return out


def remove_undefined(value: Any) -> Any:
    """MK39-MK40: delete undefined object values at any depth; undefined array elements stay."""
    kind = type(value)
    if kind is dict:
        return {key: remove_undefined(item) for key, item in value.items() if item is not UNDEFINED}
    if kind is list:
        return [remove_undefined(item) for item in value]
    return value


def _drop_nulls(value: dict[str, Any]) -> dict[str, Any]:
    """@excludeWhenNull on an object: null values removed through nested objects, not inside arrays."""
    return {
        key: _drop_nulls(item) if type(item) is dict else item
        for key, item in value.items()
        if item is not None
    }


# ------------------------------------------------------------------------------------------------ compiler


def _compile(mapping: Any, clean: bool) -> _Node:
    kind = type(mapping)
    if kind is dict:
        if is_directive(mapping):
            node = _directive(mapping)
            if clean and node.dirty:
                inner = node.fn
                return _Node(lambda payload: remove_undefined(inner(payload)))
            return node
        return _raw_object(mapping, clean)
    if kind is list:
        return _raw_array(mapping, clean)
    return _constant(mapping) if mapping is not UNDEFINED else _UNDEFINED_NODE


def _raw_object(mapping: dict[str, Any], clean: bool) -> _Node:
    children = [(key, _compile(value, clean)) for key, value in js_ordered(mapping.items())]
    if all(child.constant for _, child in children):
        template = {key: child.fn(None) for key, child in children}
        return _Node(lambda _payload: dict(template))
    entries = tuple((key, child.fn) for key, child in children)
    if clean:

        def build_clean(payload: Any) -> dict[str, Any]:
            out = {}
            for key, fn in entries:
                value = fn(payload)
                if value is not UNDEFINED:
                    out[key] = value
            return out

        return _Node(build_clean)

    def build(payload: Any) -> dict[str, Any]:
        return {key: fn(payload) for key, fn in entries}

    return _Node(build, dirty=True)


def _raw_array(mapping: list[Any], clean: bool) -> _Node:
    children = [_compile(item, clean) for item in mapping]
    if all(child.constant for child in children):
        template = [child.fn(None) for child in children]
        return _Node(lambda _payload: list(template))
    fns = tuple(child.fn for child in children)

    def build(payload: Any) -> list[Any]:
        return [fn(payload) for fn in fns]

    return _Node(build, dirty=any(child.dirty for child in children))


def _faithful(mapping: Any) -> _Node:
    return _compile(mapping, False)


def _directive(mapping: dict[str, Any]) -> _Node:
    name = next(key for key in mapping if key.startswith("@"))
    compiler = _DIRECTIVE_COMPILERS.get(name)
    if compiler is None:
        return _raiser(f"{name} is not a valid directive, got undefined")
    return compiler(mapping[name])


def _string_directive(opts: Any) -> tuple[str | None, _Node | None]:
    """@path/@template take a string, or a directive resolving to one (checked per event, MK14)."""
    if type(opts) is str:
        return opts, None
    return None, _faithful(opts)


def _expected_string(name: str, value: Any) -> MappingError:
    return MappingError(f"{name}: expected string, got {type_name(value)}")


def _path(opts: Any) -> _Node:
    text, computed = _string_directive(opts)
    if text is not None:
        return _Node(path_getter(text))
    assert computed is not None
    inner = computed.fn

    def dynamic_path(payload: Any) -> Any:
        path = inner(payload)
        if type(path) is not str:
            raise _expected_string("@path", path)
        return path_getter(path)(payload)

    return _Node(dynamic_path)


def _template(opts: Any) -> _Node:
    text, computed = _string_directive(opts)
    if text is not None:
        return _Node(compile_template(text))
    assert computed is not None
    inner = computed.fn

    def dynamic_template(payload: Any) -> Any:
        template = inner(payload)
        if type(template) is not str:
            raise _expected_string("@template", template)
        return compile_template(template)(payload)

    return _Node(dynamic_template)


def _literal(opts: Any) -> _Node:
    return _faithful(opts)


def _exists(value: Any) -> bool:
    return value is not None and value is not UNDEFINED


def _not_blank(value: Any) -> bool:
    """`value !== undefined && value !== null && value != ''` under JavaScript loose equality (MK21)."""
    if value is None or value is UNDEFINED:
        return False
    kind = type(value)
    if kind is str:
        return value != ""
    if kind is bool:
        return value
    if kind is int or kind is float:
        return value != 0  # NaN != 0 too, and NaN == "" is false: not blank
    if kind is list:
        return to_string(value) != ""
    return True  # objects: "[object Object]"


def _if(opts: Any) -> _Node:
    if type(opts) is not dict:
        return _raiser('@if requires an object with an "exists" key')
    if not truthy(opts.get("exists", UNDEFINED)) and not truthy(opts.get("blank", UNDEFINED)):
        return _raiser('@if requires an "exists" key or a "blank" key')
    condition_key, test = ("exists", _exists) if "exists" in opts else ("blank", _not_blank)
    condition = _faithful(opts[condition_key]).fn
    then = _faithful(opts["then"]) if "then" in opts else None
    otherwise = _faithful(opts["else"]) if truthy(opts.get("else", UNDEFINED)) else None
    dirty = (then is not None and then.dirty) or (otherwise is not None and otherwise.dirty)
    else_fn = otherwise.fn if otherwise is not None else None

    same = opts.get("then", UNDEFINED)
    if (
        test is _exists
        and same == opts[condition_key]
        and is_directive(same)
        and type(same.get("@path")) is str
    ):
        # The presets' "X if it exists, else Y": the branch is the very lookup the condition made.
        def if_exists_same(payload: Any) -> Any:
            value = condition(payload)
            if value is not None and value is not UNDEFINED:
                return value
            return else_fn(payload) if else_fn is not None else UNDEFINED

        return _Node(if_exists_same, dirty=dirty)

    then_fn = then.fn if then is not None else None

    def if_(payload: Any) -> Any:
        if test(condition(payload)):
            return then_fn(payload) if then_fn is not None else UNDEFINED
        return else_fn(payload) if else_fn is not None else UNDEFINED

    return _Node(if_, dirty=dirty)


def _case(opts: Any) -> _Node:
    if type(opts) is not dict:
        return _raiser('@case requires an object with a "operator" key')
    operator = opts.get("operator", UNDEFINED)
    if not truthy(operator):
        return _raiser('@case requires a "operator" key')
    if not truthy(opts.get("value", UNDEFINED)):
        return _UNDEFINED_NODE
    value = _faithful(opts["value"])
    resolve = value.fn
    convert: Callable[[str], str] | None = None
    if type(operator) is str and operator == "lower":
        convert = str.lower
    elif type(operator) is str and operator == "upper":
        convert = str.upper

    def case(payload: Any) -> Any:
        resolved = resolve(payload)
        if type(resolved) is str:
            if convert is None:
                raise MappingError('operator key should have a value of "lower" or "upper"')
            return convert(resolved)
        return resolved

    return _Node(case, dirty=value.dirty)


# ---------------------------------------------------------------------------------------------- @replace


def _canonical_char(ch: str) -> str:
    """ECMAScript Canonicalize for /i without /u: a one-unit toUpperCase, never mapping non-ASCII to ASCII."""
    if ord(ch) > 0xFFFF:
        return ch  # an astral character is two surrogate units, each its own canonical form
    upper = ch.upper()
    if len(upper) != 1 or (ord(ch) >= 128 and ord(upper) < 128):
        return ch
    return upper


def _canonical(text: str) -> str:
    if text.isascii():
        return text.upper()
    return "".join(_canonical_char(ch) for ch in text)


_DOLLAR_TOKENS: Final = {"$": "$", "&": "&", "`": "`", "'": "'"}


def _replacement_parts(replacement: str) -> tuple[str | tuple[str], ...]:
    """GetSubstitution without capture groups: only $$, $&, $` and $' are special (MK27)."""
    parts: list[str | tuple[str]] = []
    literal: list[str] = []
    i = 0
    while i < len(replacement):
        ch = replacement[i]
        if ch == "$" and i + 1 < len(replacement) and replacement[i + 1] in _DOLLAR_TOKENS:
            token = replacement[i + 1]
            if token == "$":
                literal.append("$")
            else:
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append((token,))
            i += 2
            continue
        literal.append(ch)
        i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def _literal_replacer(
    pattern: str, replacement: str, global_: bool, ignorecase: bool
) -> Callable[[str], str]:
    """`value.replace(new RegExp(escaped(pattern), flags), replacement)` for a literal pattern (MK26)."""
    parts = _replacement_parts(replacement)
    simple = all(type(part) is str for part in parts)
    plain = "".join(part for part in parts if type(part) is str)
    count = -1 if global_ else 1
    if not ignorecase and simple:
        return lambda value: value.replace(pattern, plain, count)
    needle = _canonical(pattern) if ignorecase else pattern

    def replace(value: str) -> str:
        haystack = _canonical(value) if ignorecase else value
        out: list[str] = []
        last = 0
        start = haystack.find(needle)
        while start != -1:
            end = start + len(needle)
            out.append(value[last:start])
            for part in parts:
                if type(part) is str:
                    out.append(part)
                elif part[0] == "&":
                    out.append(value[start:end])
                elif part[0] == "`":
                    out.append(value[:start])
                else:
                    out.append(value[end:])
            last = end
            if not global_:
                break
            start = haystack.find(needle, end)
        out.append(value[last:])
        return "".join(out)

    return replace


def _length_error(pattern: str, replacement: str) -> str | None:
    if js_length(pattern) > MAX_PATTERN_LENGTH:
        return f'@replace requires a "pattern" less than {MAX_PATTERN_LENGTH} characters'
    if js_length(replacement) > MAX_REPLACEMENT_LENGTH:
        return f'@replace requires a "replacement" less than {MAX_REPLACEMENT_LENGTH} characters'
    return None


def _replace(opts: Any) -> _Node:
    if type(opts) is not dict:
        return _raiser('@replace requires an object with a "pattern" key')
    pattern = opts.get("pattern", UNDEFINED)
    if not truthy(pattern):
        return _raiser('@replace requires a "pattern" key')
    replacement = opts.get("replacement")
    replacement = "" if replacement is None else replacement
    pattern2 = opts.get("pattern2", UNDEFINED)
    replacement2 = opts.get("replacement2", UNDEFINED)
    if truthy(pattern2) and replacement2 in (None, UNDEFINED):
        replacement2 = ""
    ignorecase = opts.get("ignorecase")
    ignorecase = False if ignorecase is None else ignorecase
    global_ = opts.get("global")
    global_ = True if global_ is None else global_
    if not truthy(opts.get("value", UNDEFINED)):
        return _UNDEFINED_NODE
    resolve = _faithful(opts["value"]).fn

    usable = (
        type(pattern) is str
        and type(replacement) is str
        and type(ignorecase) is bool
        and type(global_) is bool
    )
    steps: list[tuple[str | None, Callable[[str], str] | None]] = []
    if usable:
        steps.append((_length_error(pattern, replacement), None))
        if steps[0][0] is None:
            steps[0] = (None, _literal_replacer(pattern, replacement, global_, ignorecase))
        if truthy(pattern2) and type(pattern2) is str and type(replacement2) is str:
            error = _length_error(pattern2, replacement2)
            steps.append(
                (error, None if error else _literal_replacer(pattern2, replacement2, global_, ignorecase))
            )
    plan = tuple(steps)

    def replace(payload: Any) -> Any:
        value = resolve(payload)
        kind = type(value)
        if kind is bool:
            value = "true" if value else "false"
        elif kind is int or kind is float:
            value = number_to_string(value)
        elif kind is not str:
            return ""
        if not plan:
            return ""
        for error, step in plan:
            if error is not None:
                raise MappingError(error)
            assert step is not None
            value = step(value)
        return value

    return _Node(replace)


# ------------------------------------------------------------------------------------ arrays and objects


def _array_path(opts: Any) -> _Node:
    if type(opts) is not list:
        return _raiser(f"@arrayPath expected array, got {type_name(opts)}")
    root = opts[0] if opts else UNDEFINED
    shape = opts[1] if len(opts) > 1 else UNDEFINED
    root_node = _Node(path_getter(root)) if type(root) is str else _faithful(root)
    if type(shape) is not dict or not shape:
        return root_node
    root_fn = root_node.fn
    shape_node = _faithful(shape)
    item_fn = shape_node.fn

    def array_path(payload: Any) -> Any:
        found = root_fn(payload)
        kind = type(found)
        if kind is list:
            return [item_fn(item) for item in found]
        if kind is dict:
            return [item_fn(found)]
        return found

    return _Node(array_path, dirty=root_node.dirty or shape_node.dirty)


def _json(opts: Any) -> _Node:
    if type(opts) is not dict:
        return _raiser('@json requires an object with a "value" key')
    mode = opts.get("mode", UNDEFINED)
    if not truthy(mode):
        return _raiser('@json requires a "mode" key')
    if not truthy(opts.get("value", UNDEFINED)):
        return _raiser('@json requires a "value" key')
    value = _faithful(opts["value"])
    resolve = value.fn
    if mode == "encode" and type(mode) is str:

        def encode(payload: Any) -> Any:
            resolved = resolve(payload)
            if resolved is UNDEFINED:
                return UNDEFINED
            return dumps(resolved).decode()

        return _Node(encode)
    if mode == "decode" and type(mode) is str:

        def decode(payload: Any) -> Any:
            resolved = resolve(payload)
            if type(resolved) is str:
                try:
                    return orjson.loads(resolved)
                except orjson.JSONDecodeError:
                    return resolved
            return resolved

        return _Node(decode, dirty=value.dirty)

    def unknown_mode(payload: Any) -> Any:
        resolve(payload)
        return UNDEFINED

    return _Node(unknown_mode)


def _flatten_into(value: Any, prefix: str, separator: str, omit_arrays: bool, out: dict[str, Any]) -> None:
    kind = type(value)
    if kind is dict:
        items: Iterable[tuple[str, Any]] = value.items()
    elif kind is list and not omit_arrays:
        items = ((str(index), item) for index, item in enumerate(value))
    else:
        out[prefix] = value
        return
    for key, item in items:
        _flatten_into(item, f"{prefix}{separator}{key}" if prefix else key, separator, omit_arrays, out)


def flatten(value: Any, separator: str, omit_arrays: bool) -> dict[str, Any]:
    """MK32: nested objects (and arrays unless omitted) become one level of separator-joined keys."""
    out: dict[str, Any] = {}
    _flatten_into(value, "", separator, omit_arrays, out)
    return _js_object(out)


def _flatten(opts: Any) -> _Node:
    if type(opts) is not dict:
        return _raiser('@flatten requires an object with a "separator" key')
    separator = opts.get("separator", UNDEFINED)
    if not truthy(separator):
        return _raiser('@flatten requires a "separator" key')
    separator_fn = _faithful(separator).fn
    value = _faithful(opts.get("value", UNDEFINED))
    resolve = value.fn
    omit_arrays = truthy(opts.get("omitArrays", UNDEFINED))

    def flatten_(payload: Any) -> Any:
        sep = separator_fn(payload)
        if type(sep) is not str:
            raise MappingError("@flatten requires a string separator")
        return flatten(resolve(payload), sep, omit_arrays)

    return _Node(flatten_, dirty=True)  # a missing value flattens to {"": undefined}


def _typeof(value: Any) -> str:
    kind = type_name(value)
    return "object" if kind in ("array", "null") else kind


def assign(target: dict[str, Any], source: Any) -> None:
    """Object.assign's copy of one source: objects by key, arrays and strings by index, others nothing."""
    kind = type(source)
    if kind is dict:
        target.update(source)
    elif kind is list:
        for index, item in enumerate(source):
            target[str(index)] = item
    elif kind is str:
        for index, unit in enumerate(utf16_units(source)):
            target[str(index)] = unit


def _merge(opts: Any) -> _Node:
    if type(opts) is not dict:
        return _raiser('@merge requires an object with an "objects" key and a "direction" key')
    direction = opts.get("direction", UNDEFINED)
    if not truthy(direction):
        return _raiser('@merge requires a "direction" key')
    direction_fn = _faithful(direction).fn
    objects = opts.get("objects", UNDEFINED)
    problem: str | None = None
    if not truthy(objects):
        problem = '@merge requires a "objects" key'
    elif type(objects) is not list:
        problem = f"@merge: expected opts.array, got {_typeof(objects)}"
    nodes = [_faithful(item) for item in objects] if problem is None else []
    fns = tuple(node.fn for node in nodes)

    def merge(payload: Any) -> Any:
        left = direction_fn(payload) == "left"
        if problem is not None:
            raise MappingError(problem)
        resolved = [fn(payload) for fn in fns]
        if left:
            resolved.reverse()
        out: dict[str, Any] = {}
        for source in resolved:
            assign(out, source)
        return _js_object(out)

    return _Node(merge, dirty=any(node.dirty for node in nodes))


def _transform(opts: Any) -> _Node:
    if type(opts) is not dict:
        return _raiser('@transform requires an object with an "apply" key and a "mapping" key')
    if not truthy(opts.get("mapping", UNDEFINED)):
        return _raiser('@transform requires a "mapping" key')
    apply = opts.get("apply", UNDEFINED)
    if not truthy(apply):
        return _raiser('@transform requires a "apply" key')
    if type(apply) is not dict:
        return _raiser('@transform "apply" key should be an object')
    apply_fn = compile_mapping(apply)
    mapping = _faithful(opts["mapping"])
    mapping_fn = mapping.fn

    def transform_(payload: Any) -> Any:
        return mapping_fn(apply_fn(payload))

    return _Node(transform_, dirty=mapping.dirty)


def _exclude_when_null(opts: Any) -> _Node:
    value = _faithful(opts)
    resolve = value.fn

    def exclude(payload: Any) -> Any:
        resolved = resolve(payload)
        if resolved is None:
            return UNDEFINED
        if type(resolved) is dict:
            return _drop_nulls(resolved)
        return resolved

    return _Node(exclude, dirty=value.dirty)


def _liquid(opts: Any) -> _Node:
    from .liquid_env import LiquidFailure, compile_liquid  # python-liquid costs 70 ms to import: only when used

    if type(opts) is not str:
        return _raiser("liquid template value must be a string")
    try:
        render = compile_liquid(opts)
    except LiquidFailure as failure:
        return _raiser(failure.message)

    def liquid(payload: Any) -> Any:
        try:
            return render(payload)
        except LiquidFailure as failure:
            raise MappingError(failure.message) from None

    return _Node(liquid)


_DIRECTIVE_COMPILERS: Final[dict[str, Callable[[Any], _Node]]] = {
    "@path": _path,
    "@template": _template,
    "@literal": _literal,
    "@if": _if,
    "@case": _case,
    "@replace": _replace,
    "@arrayPath": _array_path,
    "@json": _json,
    "@flatten": _flatten,
    "@merge": _merge,
    "@transform": _transform,
    "@excludeWhenNull": _exclude_when_null,
    "@liquid": _liquid,
}
assert tuple(_DIRECTIVE_COMPILERS) == DIRECTIVES


# ------------------------------------------------------------------------------------------------- public


def compile_mapping(mapping: Any) -> Resolver:
    """Compile `mapping` once into `resolve(event)`: exactly Segment's `transform(mapping, event)` —
    the event must be an object, the mapping is validated (its errors are raised per event, as Segment
    does), resolved, and undefined values are removed. Raises MappingError. Holds no mutable state."""
    rewrite = rewrite_root(mapping)
    failure: str | None = rewrite.error
    if failure is None:
        problems = validate_value(rewrite.mapping)
        if problems:
            failure = problems_message(problems)
    resolve = _compile(rewrite.mapping, True).fn if failure is None else None

    def transform_event(event: Any) -> Any:
        if type(event) is not dict:
            raise MappingError(f"data must be an object, got {type_name(event)}")
        if resolve is None:
            raise MappingError(failure or "")
        return resolve(event)

    return transform_event


def compile_field_resolvers(mapping: Any) -> dict[str, Resolver] | None:
    """The resolvers of a mapping's top-level keys, one per key, each exactly what `compile_mapping` computes
    for that key before it drops undefined (so a resolver may return UNDEFINED, meaning "no such key").
    For callers that consume an action's fields one by one without building the payload object.

    None when the mapping is not a plain object of fields (a root directive, a mapping Segment's validator
    rejects): `compile_mapping` alone is exact then, and raises its error for every event."""
    rewrite = rewrite_root(mapping)
    if rewrite.error is not None or rewrite.mapping is not mapping or type(mapping) is not dict:
        return None
    if is_directive(mapping) or validate_value(mapping):
        return None
    return {key: _compile(value, True).fn for key, value in js_ordered(mapping.items())}


def transform(mapping: Any, event: Any) -> Any:
    """Segment's `transform(mapping, event)` (compiles on every call: use compile_mapping for streams)."""
    return compile_mapping(mapping)(event)


Location = tuple[str | int, ...]


def directive_sources(mapping: Any) -> list[tuple[Location, str, str]]:
    """Every event lookup in the mapping, for `explain`: (location of the directive object, directive,
    path or template text) for @path, @arrayPath (its root) and @template. Paths that are not read from
    the event itself — inside an @arrayPath item shape (relative to each item) or a @transform's
    `mapping` (relative to the applied result) — are left out."""
    found: list[tuple[Location, str, str]] = []
    _sources(mapping, (), found)
    return found


def event_roots(mapping: Any) -> frozenset[str] | None:
    """The top-level keys of the event that resolving `mapping` can read, or None when that is not known
    before the event is seen: a path or template computed per event, @liquid, a lookup of the whole event
    (`$.`), a root directive (`__segment_internal_directive`). Built on directive_sources, which lists
    every lookup made on the event itself."""
    if (type(mapping) is dict and ROOT_DIRECTIVE_KEY in mapping) or _computed_lookup(mapping):
        return None
    roots: set[str] = set()
    for _, name, text in directive_sources(mapping):
        paths = template_paths(text) if name == "@template" else (strip_root(text),)
        if paths is None:
            return None
        for path in paths:
            keys = split_path(path)
            if not keys:
                return None
            roots.add(keys[0])
    return frozenset(roots)


def _computed_lookup(node: Any) -> bool:
    """True when a lookup anywhere in the mapping is not spelled out in it: @liquid, or a @path/@template
    whose text is itself resolved from the event."""
    if type(node) is list:
        return any(_computed_lookup(item) for item in node)
    if type(node) is not dict:
        return False
    if is_directive(node):
        name = next(key for key in node if key.startswith("@"))
        if name == "@liquid" or (name in ("@path", "@template") and type(node[name]) is not str):
            return True
    return any(_computed_lookup(value) for value in node.values())


def _sources(node: Any, where: Location, found: list[tuple[Location, str, str]]) -> None:
    if type(node) is list:
        for index, item in enumerate(node):
            _sources(item, (*where, index), found)
        return
    if type(node) is not dict:
        return
    if not is_directive(node):
        for key, value in node.items():
            _sources(value, (*where, key), found)
        return
    name = next(key for key in node if key.startswith("@"))
    opts = node[name]
    inner = (*where, name)
    if name in ("@path", "@template"):
        if type(opts) is str:
            found.append((where, name, opts))
        else:
            _sources(opts, inner, found)
    elif name == "@arrayPath":
        if type(opts) is list and opts:
            if type(opts[0]) is str:
                found.append((where, name, opts[0]))
            else:
                _sources(opts[0], (*inner, 0), found)
    elif name == "@transform":
        if type(opts) is dict and "apply" in opts:
            _sources(opts["apply"], (*inner, "apply"), found)
    elif name != "@liquid":
        _sources(opts, inner, found)


__all__ = [
    "DIRECTIVES",
    "MappingError",
    "compile_mapping",
    "directive_sources",
    "event_roots",
    "flatten",
    "is_directive",
    "remove_undefined",
    "split_path",
    "strip_root",
    "transform",
]
