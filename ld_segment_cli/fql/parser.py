"""Segment's parse-fql.ts, ported step for step (fql.md sections 3-5): normalize dotted identifiers,
then a left-to-right positional scanner that builds the condition tree. It also records what it
skipped and how it grouped, so the linter can say where Segment's reading differs from a person's."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from ..js import number_to_string
from ..mapping_kit.dates import js_string_to_number
from .lexer import LexError, Token, lex
from .tree import ROOTS, Condition, EmptyGroup, Group, Node

# Every failure that is not one of parse-fql.ts's own messages is this JavaScript TypeError (R3, R39).
TYPE_ERROR: Final = "Cannot read properties of undefined (reading 'type')"
_FUNCTIONS: Final = ("contains", "match")
_FUNCTION_FIELDS: Final = ("event", "name", "userId")
_FUNCTION_PREFIXES: Final = (
    ("properties", "event-property"), ("traits", "event-trait"), ("context", "event-context")
)


class FqlParseError(Exception):
    """Segment's error object: `message` is what Segment reports, `hint` and `offset` say why and where."""

    def __init__(self, message: str, offset: int, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


@dataclass(slots=True)
class Level:
    """One scanner level (the whole text, or one parenthesised group) as the linter needs it."""

    open: Token | None  # the "(" that started it; None for the top level
    connectives: list[Token] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    # conditions with no connective since the previous one: (end of the previous one, first token)
    adjacent: list[tuple[int, Token]] = field(default_factory=list)
    operator: str = "and"


@dataclass(slots=True)
class Comparison:
    """A field comparison with the three tokens it was built from."""

    node: Condition
    field: Token
    operator: Token
    value: Token


@dataclass(slots=True)
class Call:
    """A contains()/match() call: the tokens taken by position, and the node (None when dropped)."""

    node: Condition | None
    name: Token
    bang: Token | None
    positional: list[Token | None]  # "(", field, ",", value, ")"


@dataclass(slots=True)
class Notes:
    """What the scanner did, in source order, for lint and explain."""

    levels: list[Level] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    skipped: list[tuple[Token, Level]] = field(default_factory=list)  # tokens that started nothing
    dropped_bangs: list[Token] = field(default_factory=list)  # "!" not directly before contains/match
    # groups whose first ")" belonged to a contains()/match() inside them: ("(", call name, that ")")
    early_closes: list[tuple[Token, Token, Token]] = field(default_factory=list)


def normalize(tokens: list[Token]) -> list[Token]:
    """Join every identifier, dot, identifier run into one identifier (R14)."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        current = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        joins = current.type == "dot" and following is not None and following.type == "ident"
        if joins and out and out[-1].type == "ident":
            assert following is not None
            previous = out.pop()
            out.append(
                Token(
                    "ident",
                    f"{previous.value}.{following.value}",
                    previous.start,
                    following.end,
                    previous.escaped_separator or following.escaped_separator,
                )
            )
            i += 2
        else:
            out.append(current)
            i += 1
    return out


def token_value(token: Token) -> str | float | bool:
    """getTokenValue: strings lose one leading and one trailing double quote, numbers become numbers,
    bare true/false become booleans, everything else is its text (R27)."""
    if token.type == "string":
        text = token.value
        if text.startswith('"'):
            text = text[1:]
        if text.endswith('"'):
            text = text[:-1]
        return text
    if token.type == "number":
        n = js_string_to_number(token.value)
        return int(n) if n.is_integer() and abs(n) < 2**53 and math.copysign(1, n) > 0 else n
    if token.type == "ident" and token.value in ("true", "false"):
        return token.value == "true"
    return token.value


def token_text(token: Token) -> str:
    """String(getTokenValue(token))."""
    value = token_value(token)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_to_string(value)
    return value


class _Scanner:
    def __init__(self, notes: Notes, nesting_aware: bool = False) -> None:
        self.notes = notes
        # True only for the linter's "what a person means" reading: a group ends at its matching ")"
        self.nesting_aware = nesting_aware
        self.last: Token | None = None  # the token consumed most recently

    def pop(self, tokens: deque[Token]) -> Token | None:
        if not tokens:
            return None
        self.last = tokens.popleft()
        return self.last

    def parse(self, tokens: deque[Token], open_token: Token | None) -> Node | None:
        level = Level(open_token)
        self.notes.levels.append(level)
        nodes = level.children
        expecting_connective = False  # a condition was produced and no connective has followed yet
        previous_end = 0
        token = self.pop(tokens)
        while token is not None and token.type != "eos":
            before = len(nodes)
            if token.type == "ident":
                root = token.value.split(".")[0]
                if root in ROOTS:
                    self.comparison(token, ROOTS[root], nodes, tokens)
                elif token.value in _FUNCTIONS:
                    self.call(token, None, nodes, tokens)
                else:
                    self.notes.skipped.append((token, level))
            elif token.type == "operator" and token.value == "!":
                if not tokens:
                    raise FqlParseError(TYPE_ERROR, token.start, "nothing follows '!'")
                if tokens[0].type == "ident" and tokens[0].value in _FUNCTIONS:
                    name = self.pop(tokens)
                    assert name is not None
                    self.call(name, token, nodes, tokens)
                else:
                    self.notes.dropped_bangs.append(token)
            elif token.type == "parenleft":
                nodes.append(self.group(token, tokens))
            elif token.type == "conditional":
                level.connectives.append(token)
                level.operator = token.value
                expecting_connective = False
            else:
                self.notes.skipped.append((token, level))
            if len(nodes) > before:
                if expecting_connective:
                    level.adjacent.append((previous_end, token))
                expecting_connective = True
                previous_end = self.last.end if self.last is not None else token.end
            token = self.pop(tokens)

        if len(nodes) > 1:
            start, end = _span(nodes)
            return Group(level.operator, tuple(nodes), start, end, tuple(t.value for t in level.connectives))
        return nodes[0] if nodes else None

    def group(self, open_token: Token, tokens: deque[Token]) -> Node:
        """R21: collect up to the first ")" whatever the nesting, then parse that as one level."""
        inner: list[Token] = []
        depth = 0
        while True:
            g = self.pop(tokens)
            if g is None:
                raise FqlParseError(TYPE_ERROR, open_token.start, "this parenthesis is never closed")
            if g.type == "parenright" and depth == 0:
                close = g
                break
            if self.nesting_aware:
                depth += {"parenleft": 1, "parenright": -1}.get(g.type, 0)
            inner.append(g)
        eos = Token("eos", "eos", close.start, close.start, synthetic=True)
        inner.append(eos)
        calls_before = len(self.notes.calls)
        try:
            node = self.parse(deque(inner), open_token)
        except FqlParseError as exc:
            if exc.message == TYPE_ERROR and exc.hint == "this parenthesis is never closed":
                # the inner "(" ran out of tokens: that is a nested parenthesis (R21)
                raise FqlParseError(
                    TYPE_ERROR, exc.offset, "parentheses cannot be nested: a group ends at the first ')'"
                ) from None
            raise
        for call in self.notes.calls[calls_before:]:
            if call.positional[4] is eos:
                self.notes.early_closes.append((open_token, call.name, close))
        if node is None:
            return EmptyGroup(open_token.start, close.end)
        return node

    def comparison(self, token: Token, kind: str, nodes: list[Node], tokens: deque[Token]) -> None:
        op = self.pop(tokens)
        if op is None:
            raise FqlParseError("Operator token is missing", token.start, f"nothing follows {token.value}")
        val = self.pop(tokens)
        if val is None:
            raise FqlParseError(
                "Value token is missing", token.start, f"{token.value} needs an operator and a value after it"
            )
        node = build_comparison(token, kind, op, val)
        nodes.append(node)
        self.notes.comparisons.append(Comparison(node, token, op, val))

    def call(self, name: Token, bang: Token | None, nodes: list[Node], tokens: deque[Token]) -> None:
        fn = name.value
        positional: list[Token | None] = [self.pop(tokens)]
        field_token = self.pop(tokens)
        positional.append(field_token)
        if field_token is None:
            raise FqlParseError(f"{fn}() is missing a 1st argument", name.start, f"write {fn}(field, value)")
        positional.append(self.pop(tokens))
        value_token = self.pop(tokens)
        positional.append(value_token)
        if value_token is None:
            raise FqlParseError(f"{fn}() is missing a 2nd argument", name.start, f"write {fn}(field, value)")
        positional.append(self.pop(tokens))
        node = build_call(fn, bang is not None, field_token, value_token, (bang or name).start,
                          (positional[4] or value_token).end)
        if node is not None:
            nodes.append(node)
        self.notes.calls.append(Call(node, name, bang, positional))


def _span(nodes: list[Node]) -> tuple[int, int]:
    return min(n.start for n in nodes), max(n.end for n in nodes)


def build_comparison(field_token: Token, kind: str, op: Token, val: Token) -> Condition:
    """R24-R28: the internal operator and value for `field op value`."""
    start, end = field_token.start, max(t.end for t in (field_token, op, val) if t.type != "eos")
    is_true = op.value == "=" and val.value == "true"
    is_false = op.value == "=" and val.value == "false"
    is_exists = op.value == "!=" and val.value == "null"
    is_not_exists = op.value == "=" and val.value == "null"
    if kind in ("event-type", "event"):
        return Condition(kind, op.value, token_text(val), None, start, end)
    if kind == "name" or kind == "userId":
        if is_exists:
            return Condition(kind, "exists", None, None, start, end)
        if is_not_exists:
            return Condition(kind, "not_exists", None, None, start, end)
        if kind == "userId" and (is_true or is_false):
            return Condition(kind, "is_true" if is_true else "is_false", None, None, start, end)
        return Condition(kind, op.value, token_text(val), None, start, end)
    root = field_token.value.split(".")[0]
    text = field_token.value
    name = text[len(root) + 1 :] if text.startswith(root + ".") else text
    for flag, operator in ((is_exists, "exists"), (is_not_exists, "not_exists"), (is_true, "is_true"),
                           (is_false, "is_false")):
        if flag:
            return Condition(kind, operator, None, name, start, end)
    if op.value in ("=", "!=") and val.type == "number":
        operator = "number_equals" if op.value == "=" else "number_not_equals"
        return Condition(kind, operator, token_value(val), name, start, end)
    return Condition(kind, op.value, token_value(val), name, start, end)


def build_call(
    fn: str, negate: bool, field_token: Token, value_token: Token, start: int, end: int
) -> Condition | None:
    """R18-R19, R36-R38: the node for contains()/match(), or None when the field is unsupported."""
    if fn == "contains":
        operator = "not_contains" if negate else "contains"
        value = token_text(value_token)
    elif value_token.value.endswith('*"'):
        operator = "not_starts_with" if negate else "starts_with"
        value = _js_slice(token_text(value_token), 0, -1)
    else:
        operator = "not_ends_with" if negate else "ends_with"
        value = _js_slice(token_text(value_token), 1, None)
    text = field_token.value
    if text in _FUNCTION_FIELDS:
        return Condition(text, operator, value, None, start, end)
    # parse-fql.ts tests /^(properties)/ etc. one after another; the prefixes exclude each other
    for prefix, kind in _FUNCTION_PREFIXES:
        if text.startswith(prefix):
            name = text[len(prefix) + 1 :] if text.startswith(prefix + ".") else text
            return Condition(kind, operator, value, name, start, end)
    return None


def _js_slice(text: str, begin: int, stop: int | None) -> str:
    """String.prototype.slice on UTF-16 code units (a lone surrogate half may remain, as in JavaScript)."""
    if all(ord(ch) <= 0xFFFF for ch in text):
        return text[begin:stop]
    raw = text.encode("utf-16-le", "surrogatepass")
    units = [raw[i : i + 2] for i in range(0, len(raw), 2)][begin:stop]
    return b"".join(units).decode("utf-16-le", "surrogatepass")


@dataclass(frozen=True, slots=True)
class Parsed:
    tree: Group | None
    error: FqlParseError | None
    notes: Notes
    tokens: tuple[Token, ...]


def parse(text: str, nesting_aware: bool = False) -> Parsed:
    """parseFql: the root group (R23), or Segment's error with our position and reason.
    `nesting_aware` is not Segment: it closes each group at its matching ")" (the linter's reference)."""
    notes = Notes()
    try:
        tokens = normalize(lex(text))
    except LexError as exc:
        return Parsed(None, FqlParseError(TYPE_ERROR, exc.offset, exc.reason), notes, ())
    try:
        node = _Scanner(notes, nesting_aware).parse(deque(tokens), None)
    except FqlParseError as exc:
        return Parsed(None, exc, notes, tuple(tokens))
    if node is None or isinstance(node, EmptyGroup):
        if not text.strip(" \t\n"):
            error = FqlParseError(TYPE_ERROR, 0, "the trigger is empty")
        elif isinstance(node, EmptyGroup):
            error = FqlParseError(TYPE_ERROR, node.start, "the parentheses hold no condition Segment knows")
        else:
            first = next((t for t in tokens if t.type != "eos"), tokens[0])
            fields = "type, event, name, userId, properties.*, traits.*, context.*"
            error = FqlParseError(TYPE_ERROR, first.start, f"Segment finds no condition (fields: {fields})")
        return Parsed(None, error, notes, tuple(tokens))
    if not isinstance(node, Group):
        node = Group("and", (node,), node.start, node.end)
    return Parsed(node, None, notes, tuple(tokens))

