"""The mapping validator Segment runs before resolving (MK7-MK9, MK36): every problem it would report,
with Segment's wording and the key path from the mapping root, plus the root-directive rewrite."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from ..js import UNDEFINED, dumps, type_name
from .paths import js_length, utf16_units

Path = tuple[str | int, ...]

ROOT_DIRECTIVE_KEY: Final = "__segment_internal_directive"
DIRECTIVES: Final[tuple[str, ...]] = (
    "@path",
    "@template",
    "@literal",
    "@if",
    "@case",
    "@replace",
    "@arrayPath",
    "@json",
    "@flatten",
    "@merge",
    "@transform",
    "@excludeWhenNull",
    "@liquid",
)
MAX_PATTERN_LENGTH: Final = 10
MAX_REPLACEMENT_LENGTH: Final = 10
MAX_LIQUID_LENGTH: Final = 1000


@dataclass(frozen=True, slots=True)
class MappingProblem:
    """One validator error. `path` locates the offending object in the mapping as written; Segment's own
    path (`segment_path`) differs only under the root directive, whose siblings Segment moves inside it."""

    path: Path
    message: str
    hint: str | None = None
    segment_path: Path | None = None
    bare: bool = False  # Segment's text is the message alone (the root-directive errors)

    def segment_message(self) -> str:
        if self.bare:
            return self.message
        stack = self.path if self.segment_path is None else self.segment_path
        return f"/{'/'.join(str(key) for key in stack)} {self.message}."


def _article(word: str) -> str:
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


def _kind(value: Any) -> str:
    """Segment's realTypeOrDirective: any object with an @-key counts as a directive here."""
    if type(value) is dict and any(key.startswith("@") for key in value):
        return "directive"
    return type_name(value)


def _is(value: Any) -> str:
    kind = _kind(value)
    return f"{_article(kind)} {kind}"


def _hint_for(name: str) -> str | None:
    close = difflib.get_close_matches(name, DIRECTIVES, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    lowered = {d.lower(): d for d in DIRECTIVES}
    if name.lower() in lowered:
        return f"did you mean '{lowered[name.lower()]}'? (directive names are case-sensitive)"
    return f"known directives: {', '.join(DIRECTIVES)}"


Problems = list[MappingProblem]
Check = Callable[[Any, Path], Problems]


def _one(stack: Path, message: str, hint: str | None = None) -> Problems:
    return [MappingProblem(stack, message, hint)]


def validate_value(mapping: Any, stack: Path = ()) -> Problems:
    """Segment's `validate`: directives and raw objects are checked; arrays are not looked into (MK9)."""
    kind = _kind(mapping)
    if kind == "directive":
        return _directive(mapping, stack)
    if kind == "object":
        return _object(mapping, stack)
    return []


def _directive(obj: dict[str, Any], stack: Path) -> Problems:
    keys = list(obj)
    directive_keys = [key for key in keys if key.startswith("@")]
    if len(directive_keys) > 1:
        return _one(stack, f"should only have one @-prefixed key but it has {len(directive_keys)} keys")
    if any(not key.startswith("@") and key != "_metadata" for key in keys):
        extra = [key for key in keys if not key.startswith("@") and key != "_metadata"]
        return _one(
            stack,
            f"should only have one @-prefixed key but it has {len(keys)} keys",
            f"a directive object holds only its @-key (and _metadata); move {', '.join(extra)} elsewhere",
        )
    name = directive_keys[0]
    check = _VALIDATORS.get(name)
    if check is None:
        return _one(stack, f"has an invalid directive: {name}", _hint_for(name))
    return check(obj[name], (*stack, name), stack)


def _object(value: Any, stack: Path) -> Problems:
    if _kind(value) != "object":
        return _one(stack, f"should be an object but it is {_is(value)}")
    problems: Problems = []
    for key, item in value.items():
        problems.extend(validate_value(item, (*stack, key)))
    return problems


def _fields(value: Any, stack: Path, fields: tuple[tuple[str, bool, Check], ...]) -> Problems:
    """validateObjectWithFields: the options object is validated as a mapping first; only when that
    passes are the per-option rules applied (all their errors collected)."""
    problems = _object(value, stack)
    if problems:
        return problems
    for name, required, check in fields:
        if name not in value:
            if required:
                problems.extend(_one(stack, f'should have field "{name}" but it doesn\'t'))
            continue
        problems.extend(check(value[name], (*stack, name)))
    return problems


def _directive_or_raw(value: Any, stack: Path) -> Problems:
    return _directive(value, stack) if _kind(value) == "directive" else []


def _directive_or_string(value: Any, stack: Path) -> Problems:
    kind = _kind(value)
    if kind == "directive":
        return _directive(value, stack)
    if kind == "string":
        return []
    return _one(stack, f"should be a string or a mapping directive but it is {_is(value)}")


def _directive_or_object(value: Any, stack: Path) -> Problems:
    kind = _kind(value)
    if kind == "directive":
        return _directive(value, stack)
    if kind == "object":
        return _object(value, stack)
    return _one(stack, f"should be a object or a mapping directive but it is {_is(value)}")


def _string(value: Any, stack: Path) -> Problems:
    if _kind(value) != "string":
        return _one(stack, f"should be a string but it is {_is(value)}")
    return []


def _string_length(minimum: int, maximum: int) -> Check:
    def check(value: Any, stack: Path) -> Problems:
        if _kind(value) != "string":
            return _one(stack, f"should be a string but it is {_is(value)}")
        length = js_length(value)
        if length < minimum:
            return _one(stack, f"should be a string of length {minimum} or greater")
        if length > maximum:
            return _one(stack, f"should be a string of length {maximum} or less")
        return []

    return check


def _boolean(value: Any, stack: Path) -> Problems:
    if _kind(value) != "boolean":
        return _one(stack, f"should be a boolean but it is {_is(value)}")
    return []


def _one_of(*choices: str) -> Check:
    """Case-insensitive enumeration (the runtime then compares exactly, MK38 note)."""

    def check(value: Any, stack: Path) -> Problems:
        if type(value) is str and value.lower() in choices:
            return []
        shown = dumps(value).decode() if value is not UNDEFINED else "undefined"
        return _one(stack, f"should be one of {', '.join(choices)} but it is {shown}")

    return check


def _array(value: Any, stack: Path) -> Problems:
    if _kind(value) != "array":
        return _one(stack, f"should be an array but it is {_is(value)}")
    return []


def _objects_list(value: Any, stack: Path) -> Problems:
    problems = _array(value, stack)
    if problems:
        return problems
    for index, item in enumerate(value):
        problems.extend(_directive_or_object(item, (*stack, index)))
    return problems


DirectiveCheck = Callable[[Any, Path, Path], Problems]


def _if(value: Any, stack: Path, _outer: Path) -> Problems:
    return _fields(
        value,
        stack,
        (
            ("exists", False, _directive_or_raw),
            ("then", False, _directive_or_raw),
            ("else", False, _directive_or_raw),
        ),
    )


def _string_directive(value: Any, stack: Path, _outer: Path) -> Problems:
    return _directive_or_string(value, stack)


def _any_value(value: Any, stack: Path, _outer: Path) -> Problems:
    return _directive_or_raw(value, stack)


def _liquid(value: Any, stack: Path, outer: Path) -> Problems:
    problems = _string(value, stack)
    if problems:
        return problems
    if js_length(value) > MAX_LIQUID_LENGTH:
        # A plain Error inside a directive validator is reported at the directive object's own path.
        return _one(outer, f"liquid template values are limited to {MAX_LIQUID_LENGTH} characters")
    return []


def _case(value: Any, stack: Path, _outer: Path) -> Problems:
    return _fields(value, stack, (("operator", False, _string), ("value", False, _directive_or_string)))


def _replace(value: Any, stack: Path, _outer: Path) -> Problems:
    return _fields(
        value,
        stack,
        (
            ("pattern", True, _string_length(1, MAX_PATTERN_LENGTH)),
            ("value", True, _directive_or_string),
            ("replacement", False, _string_length(0, MAX_REPLACEMENT_LENGTH)),
            ("ignorecase", False, _boolean),
            ("global", False, _boolean),
        ),
    )


def _array_path(value: Any, stack: Path, _outer: Path) -> Problems:
    problems = _array(value, stack)
    if problems:
        return problems
    root = value[0] if value else UNDEFINED
    problems = _directive_or_string(root, (*stack, 0))
    if len(value) > 1:
        problems.extend(validate_value(value[1], (*stack, 1)))
    return problems


def _json(value: Any, stack: Path, _outer: Path) -> Problems:
    return _fields(
        value, stack, (("value", True, _directive_or_raw), ("mode", True, _one_of("encode", "decode")))
    )


def _flatten(value: Any, stack: Path, _outer: Path) -> Problems:
    return _fields(value, stack, (("separator", False, _string), ("value", True, _directive_or_raw)))


def _merge(value: Any, stack: Path, _outer: Path) -> Problems:
    return _fields(
        value, stack, (("direction", False, _one_of("left", "right")), ("objects", True, _objects_list))
    )


def _transform(value: Any, stack: Path, _outer: Path) -> Problems:
    return _fields(
        value, stack, (("apply", True, _directive_or_object), ("mapping", True, _directive_or_object))
    )


_VALIDATORS: Final[dict[str, DirectiveCheck]] = {
    "@if": _if,
    "@path": _string_directive,
    "@template": _string_directive,
    "@literal": _any_value,
    "@excludeWhenNull": _any_value,
    "@liquid": _liquid,
    "@case": _case,
    "@replace": _replace,
    "@arrayPath": _array_path,
    "@json": _json,
    "@flatten": _flatten,
    "@merge": _merge,
    "@transform": _transform,
}


@dataclass(frozen=True, slots=True)
class RootRewrite:
    """The mapping Segment actually validates and resolves (MK36), and how to map its paths back."""

    mapping: Any
    directive: str | None = None  # the root directive's key when the rewrite happened
    error: str | None = None

    def original_path(self, stack: Path) -> Path:
        if self.directive is None:
            return stack
        if len(stack) >= 2 and stack[0] == self.directive and stack[1] == "mapping":
            return stack[2:]
        return (ROOT_DIRECTIVE_KEY, *stack)


def _js_keys(value: Any) -> list[Any]:
    """Object.keys(value) for the shapes a root directive can take."""
    if type(value) is dict:
        return list(value)
    if type(value) is list:
        return list(range(len(value)))
    if type(value) is str:
        return list(range(len(utf16_units(value))))
    return []


def rewrite_root(mapping: Any) -> RootRewrite:
    """getMappingToProcess: move every top-level key beside `__segment_internal_directive` into the
    `mapping` option of the single directive it holds."""
    if type(mapping) is not dict or ROOT_DIRECTIVE_KEY not in mapping:
        return RootRewrite(mapping)
    customer = {key: value for key, value in mapping.items() if key != ROOT_DIRECTIVE_KEY}
    holder = mapping[ROOT_DIRECTIVE_KEY]
    if holder is None:
        return RootRewrite(mapping, error="The root directive must be an object")
    keys = _js_keys(holder)
    if len(keys) > 1:
        return RootRewrite(mapping, error="The root mapping must only have a single directive object")
    inner = holder[keys[0]] if keys and type(holder) in (dict, list) else UNDEFINED
    if type(inner) not in (dict, list):
        return RootRewrite(mapping, error="The root directive must be an object")
    injected = {**inner, "mapping": customer} if type(inner) is dict else inner
    if type(holder) is dict:
        return RootRewrite({keys[0]: injected}, directive=keys[0])
    return RootRewrite([injected], directive=None)


def validate_mapping(mapping: Any) -> list[MappingProblem]:
    """Every problem Segment's validator reports for `mapping` (empty when it is valid). Never raises."""
    rewrite = rewrite_root(mapping)
    if rewrite.error is not None:
        return [MappingProblem((ROOT_DIRECTIVE_KEY,), rewrite.error, bare=True)]
    problems = validate_value(rewrite.mapping)
    if rewrite.directive is None:
        return problems
    return [
        MappingProblem(rewrite.original_path(p.path), p.message, p.hint, segment_path=p.path)
        for p in problems
    ]


def problems_message(problems: list[MappingProblem]) -> str:
    """The text of the error Segment throws for these problems (joined by spaces when aggregated)."""
    return " ".join(p.segment_message() for p in problems)
