"""The condition tree Segment's parser builds (the same shape as its AST), plus FqlProblem, the
positioned message every FQL diagnostic uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ..js import number_to_string

# Segment's condition types by field root (parse-fql.ts tokenToConditionType)
ROOTS: Final = {
    "type": "event-type",
    "event": "event",
    "name": "name",
    "userId": "userId",
    "context": "event-context",
    "properties": "event-property",
    "traits": "event-trait",
}
PATH_ROOTS: Final = {"event-property": "properties", "event-trait": "traits", "event-context": "context"}
FIELD_OF_TYPE: Final = {"event-type": "type", "event": "event", "name": "name", "userId": "userId"}


@dataclass(frozen=True, slots=True)
class FqlProblem:
    column: int  # 1-based column inside the trigger text
    message: str  # one sentence
    kind: str = "error"  # for lint warnings: a short kind id such as "mixed-and-or"


@dataclass(frozen=True, slots=True)
class Condition:
    """One comparison. `value` is None when Segment's node has no value (exists, is_true...)."""

    type: str  # event-type, event, name, userId, event-property, event-trait, event-context
    operator: str  # "=", "!=", "<", ..., number_equals, contains, starts_with, exists, is_true, or raw text
    value: Any = None
    name: str | None = None  # the lookup path for properties / traits / context
    start: int = 0  # code-point span of the source text that produced it
    end: int = 0

    @property
    def field(self) -> str:
        """The field as a person would write it: `type`, `properties.price`, `context.ip`..."""
        if self.type in PATH_ROOTS:
            return f"{PATH_ROOTS[self.type]}.{self.name}"
        return FIELD_OF_TYPE[self.type]

    def to_segment(self) -> dict[str, Any]:
        node: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            node["name"] = self.name
        node["operator"] = self.operator
        if self.value is not None:
            node["value"] = self.value
        return node

    def to_fql(self) -> str:
        return render_condition(self)


@dataclass(frozen=True, slots=True)
class EmptyGroup:
    """A parenthesised group in which Segment found no condition: `undefined` in its tree. Evaluating it
    throws a TypeError in Segment, so an event that reaches it is never sent."""

    start: int = 0
    end: int = 0

    def to_segment(self) -> None:
        return None

    def to_fql(self) -> str:
        return "()"


@dataclass(frozen=True, slots=True)
class Group:
    operator: str  # "and" | "or": the last connective seen at this level (R22)
    children: tuple[Node, ...]
    start: int = 0
    end: int = 0
    connectives: tuple[str, ...] = ()  # the connectives written at this level, in order

    def to_segment(self) -> dict[str, Any]:
        children = [c.to_segment() for c in self.children]
        return {"type": "group", "operator": self.operator, "children": children}

    def to_fql(self) -> str:
        parts = [f"({c.to_fql()})" if isinstance(c, Group) else c.to_fql() for c in self.children]
        return f" {self.operator} ".join(parts)


Node = Condition | Group | EmptyGroup


def read_roots(node: Node) -> frozenset[str]:
    """The top-level keys of the event the tree can read: each condition reads one (`type`, `event`, ...,
    or the root of its path: `properties`, `traits`, `context`)."""
    if isinstance(node, Condition):
        return frozenset((PATH_ROOTS.get(node.type) or FIELD_OF_TYPE[node.type],))
    if isinstance(node, EmptyGroup):
        return frozenset()
    return frozenset().union(*(read_roots(child) for child in node.children))


def show_value(value: Any) -> str:
    """A value from the tree as FQL text: strings double-quoted, numbers and booleans bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_to_string(value)
    return f'"{value}"'


def render_condition(c: Condition) -> str:
    """The condition as canonical FQL (generate-fql.ts), so a reader sees what Segment evaluates."""
    field, op, value = c.field, c.operator, c.value
    simple = {
        "exists": f"{field} != null",
        "not_exists": f"{field} = null",
        "is_true": f"{field} = true",
        "is_false": f"{field} = false",
    }
    if op in simple:
        return simple[op]
    if op in ("contains", "not_contains"):
        return f"{'!' if op == 'not_contains' else ''}contains({field}, {show_value(value)})"
    if op in ("starts_with", "not_starts_with"):
        return f'{"!" if op[0] == "n" else ""}match({field}, "{value}*")'
    if op in ("ends_with", "not_ends_with"):
        return f'{"!" if op[0] == "n" else ""}match({field}, "*{value}")'
    if op == "number_equals":
        return f"{field} = {show_value(value)}"
    if op == "number_not_equals":
        return f"{field} != {show_value(value)}"
    return f"{field} {op} {show_value(value)}"
