"""Triggers: Segment's FQL subscription language exactly as Segment's Actions runtime reads it (lexer,
parser, compiled predicate), plus a linter and a clause-by-clause explanation. See spec/fql.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .evaluate import Predicate, compile_predicate, never, one_field_equals
from .explain import Explanation, explain_error, explain_tree
from .lint import lint_parsed
from .parser import TYPE_ERROR, parse
from .tree import Condition, EmptyGroup, FqlProblem, Group, Node, read_roots

__all__ = [
    "TYPE_ERROR",
    "Condition",
    "EmptyGroup",
    "Explanation",
    "FqlProblem",
    "Group",
    "Node",
    "Trigger",
    "compile_trigger",
    "lint",
]


@dataclass(frozen=True, slots=True)
class Trigger:
    """A compiled trigger. `error` is set when Segment cannot parse the text; then `predicate` is
    always false, as in Segment. `segment_error` is Segment's own message for it."""

    text: str
    error: FqlProblem | None
    predicate: Predicate = field(repr=False, compare=False)
    tree: Group | None = None
    segment_error: str | None = None
    # (key, texts) when the trigger is `F = "a"` (or `F = "a" or F = "b"`) on one top-level field: a dict
    # event matches exactly when its value there is one of the texts (hot loops test it without a call)
    equals: tuple[str, frozenset[str]] | None = field(default=None, repr=False, compare=False)

    @property
    def roots(self) -> frozenset[str]:
        """The top-level keys of an event this trigger can read (none when it cannot parse: it never fires)."""
        return read_roots(self.tree) if self.tree is not None else frozenset()

    def explain(self, event: Any) -> Explanation:
        if self.error is not None or self.tree is None:
            problem = self.error or FqlProblem(1, TYPE_ERROR)
            return explain_error(problem.message, problem.column)
        return explain_tree(self.tree, event)

    def to_segment(self) -> dict[str, Any]:
        """The tree in Segment's own AST form (or its error object's message)."""
        if self.tree is None:
            return {"error": self.segment_error}
        return self.tree.to_segment()


@lru_cache(maxsize=1024)
def compile_trigger(text: str) -> Trigger:
    """Parse once, compile to a closure; never raises for bad text (the error is on the Trigger)."""
    parsed = parse(text)
    if parsed.error is not None or parsed.tree is None:
        err = parsed.error
        assert err is not None
        message = f"{err.message} — {err.hint}" if err.hint else err.message
        return Trigger(text, FqlProblem(err.offset + 1, message), never, None, err.message)
    tree = parsed.tree
    return Trigger(text, None, compile_predicate(tree), tree, None, one_field_equals(tree))


@lru_cache(maxsize=1024)
def _lint(text: str) -> tuple[FqlProblem, ...]:
    return tuple(lint_parsed(text, parse(text)))


def lint(text: str) -> list[FqlProblem]:
    """Warnings, with columns, wherever Segment's reading differs from what a person would read (R41).
    A trigger Segment cannot parse has its error on compile_trigger() instead, and no warnings."""
    return list(_lint(text))
