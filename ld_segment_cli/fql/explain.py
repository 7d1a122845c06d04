"""A trigger evaluated clause by clause for one event: each condition with the value found at its path,
true/false, and how Segment combined them. Slow and thorough; the hot path uses the compiled predicate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ..js import UNDEFINED, dumps, to_string, truthy, type_name
from ..mapping_kit.paths import array_index, member
from .evaluate import comparator, path_keys
from .tree import FIELD_OF_TYPE, PATH_ROOTS, Condition, EmptyGroup, Group, Node

_MAX_SHOWN: Final = 80
_THROW: Final = "throw"
_INDENT: Final = "  "
_NUMERIC: Final = frozenset(("number_equals", "number_not_equals", "<", "<=", ">", ">="))
_TEXTUAL: Final = frozenset(
    ("contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with")
)


@dataclass(frozen=True, slots=True)
class Explanation:
    result: bool
    steps: tuple[str, ...]

    def lines(self) -> list[str]:
        return list(self.steps)


def show(value: Any) -> str:
    """A found value, JSON-ish: strings quoted, `undefined` when missing, long values shortened."""
    if value is UNDEFINED:
        return "undefined"
    try:
        text = dumps(value).decode()
    except (TypeError, ValueError, UnicodeError):
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _mark(state: bool | str) -> str:
    return "✓" if state is True else "✗"


def _word(state: bool | str) -> str:
    return "true" if state is True else "false"


def _lookup(c: Condition, event: dict[str, Any]) -> tuple[Any, str, bool]:
    """(value, how it was found, throws) for one condition, walking the path step by step."""
    if c.type in FIELD_OF_TYPE:
        key = FIELD_OF_TYPE[c.type]
        return event.get(key, UNDEFINED), f"{key} is", False
    root = PATH_ROOTS[c.type]
    if not c.name:
        return UNDEFINED, f"{root} (empty path) is", False
    keys = path_keys(c.name)
    if keys is None:
        return UNDEFINED, f"Segment's lookup of {c.name!r} throws a TypeError (the path has no key)", True
    current = event.get(root, UNDEFINED)
    walked = [root]
    for key in keys:
        if not truthy(current):
            if current is UNDEFINED:
                break
            where = ".".join(walked)
            return current, f"{where} is {show(current)}, so the walk stops there and {c.field} is", False
        current = member(current, key, array_index(key))
        walked.append(key)
    return current, f"{c.field} is", False


def _why_false(c: Condition, value: Any) -> str:
    """The JavaScript typing rule that made a comparison false, when that is the reason."""
    if value is UNDEFINED:
        return ""
    kind = type_name(value)
    kind = f"an {kind}" if kind in ("array", "object") else f"a {kind}"
    if c.operator in _NUMERIC and kind != "a number":
        return f" ({kind} is never compared as a number)"
    if c.operator in _TEXTUAL and kind != "a string":
        return f" ({kind}, not a string)"
    if c.operator == "=" and kind != "a string" and to_string(value) == to_string(c.value):
        return f" ({kind}, not the string)"
    if c.operator in ("is_true", "is_false") and kind != "a boolean":
        return f" ({kind}, not a boolean)"
    return ""


class _Tracer:
    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        self.lines: list[str] = []

    def node(self, node: Node, depth: int, reached: bool) -> bool | str:
        """Evaluate and describe `node`; returns True, False or "throw" (what Segment would do)."""
        pad = _INDENT * depth
        if isinstance(node, EmptyGroup):
            if reached:
                self.lines.append(f"{pad}✗ () empty group: Segment's evaluator throws a TypeError on it, "
                                  "so the event is not sent")
                return _THROW
            self.lines.append(f"{pad}· () empty group: not reached, so Segment does not throw")
            return False
        if isinstance(node, Condition):
            value, found, throws = _lookup(node, self.event)
            if throws:
                state: bool | str = _THROW if reached else False
                prefix = "✗" if reached else "·"
                self.lines.append(f"{pad}{prefix} {node.to_fql()} — {found}; the event is not sent")
                return state
            state = comparator(node.operator, node.value)(value)
            note = _why_false(node, value) if state is False else ""
            if not reached:
                note += " (not evaluated: the group was already decided)"
            prefix = _mark(state) if reached else "·"
            self.lines.append(f"{pad}{prefix} {node.to_fql()} — {found} {show(value)} → {_word(state)}{note}")
            return state
        return self.group(node, depth, reached)

    def group(self, group: Group, depth: int, reached: bool) -> bool | str:
        pad = _INDENT * depth
        header = len(self.lines)
        self.lines.append("")  # filled in once the children are known
        decided: bool | str | None = None
        results: list[bool | str] = []
        for child in group.children:
            live = reached and decided is None
            state = self.node(child, depth + 1, live)
            results.append(state)
            if not live:
                continue
            if state == _THROW:
                decided = _THROW
            elif group.operator == "and" and state is False:
                decided = False
            elif group.operator == "or" and state is True:
                decided = True
        if group.operator not in ("and", "or"):
            decided = False
        if decided is None:
            decided = group.operator == "and"
        held = sum(1 for r in results if r is True)
        rule = "all must be true" if group.operator == "and" else "at least one must be true"
        how = f"{group.operator}: {rule} ({held} of {len(results)} true)"
        if len(set(group.connectives)) > 1:
            how += (f"; `and` and `or` are both written here and Segment applies the last one, "
                    f"`{group.operator}`, to all {len(results)} (no precedence)")
        elif not group.connectives and len(results) > 1:
            how += "; no connective is written here, so Segment uses `and`"
        prefix = (_mark(decided) if decided != _THROW else "✗") if reached else "·"
        outcome = "throws a TypeError (not sent)" if decided == _THROW else _word(decided)
        self.lines[header] = f"{pad}{prefix} {how} → {outcome}"
        return decided if reached else False


def explain_tree(tree: Group, event: Any) -> Explanation:
    """Trace validate(tree, event) with the same JavaScript semantics as the compiled predicate."""
    if event is UNDEFINED or event is None:
        what = "undefined" if event is UNDEFINED else "null"
        return Explanation(False, (f"✗ the event is {what}: Segment never matches it",))
    tracer = _Tracer(event if type(event) is dict else {})
    if type(event) is not dict:
        tracer.lines.append(f"· the event is not an object ({show(event)}): every field reads undefined")
    if len(tree.children) == 1 and not isinstance(tree.children[0], Group):
        state = tracer.node(tree.children[0], 0, True)
    else:
        state = tracer.group(tree, 0, True)
    result = state is True
    if len(tree.children) > 1:
        tracer.lines.append(f"Segment's grouping: {tree.to_fql()} → {_word(result)}")
    return Explanation(result, tuple(tracer.lines))


def explain_error(message: str, column: int) -> Explanation:
    return Explanation(False, (f"✗ Segment cannot parse this trigger (column {column}: {message}), "
                               "so it never matches any event",))
