"""Warnings where Segment's reading of a trigger differs from what a person reads (fql.md R41): each one
names the place (column), what Segment does instead, and how to write what was meant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from .lexer import Token
from .parser import Call, Comparison, Level, Notes, Parsed, parse, token_value
from .tree import PATH_ROOTS, ROOTS, Condition, EmptyGroup, FqlProblem, Group, Node

_OPERATORS: Final = frozenset(("=", "!=", "<", "<=", ">", ">="))
_NOT_VALUES: Final = frozenset(
    ("operator", "parenleft", "parenright", "comma", "conditional", "dot", "brackleft", "brackright")
)
_FIELDS_HELP: Final = "type, event, name, userId, properties.*, traits.*, context.*"
_GLOB_CHARS: Final = ("*", "?", "[")
_KEYWORDS: Final = ("null", "true", "false")


def _q(text: str) -> str:
    return f"`{text}`"


class _Linter:
    def __init__(self, text: str, parsed: Parsed) -> None:
        self.text = text
        self.parsed = parsed
        self.notes: Notes = parsed.notes
        self.problems: list[FqlProblem] = []
        self.index = {id(t): i for i, t in enumerate(parsed.tokens)}
        self.covered: set[int] = set()  # ids of skipped tokens another warning already explains

    def warn(self, offset: int, kind: str, message: str) -> None:
        self.problems.append(FqlProblem(offset + 1, message, kind))

    def following(self, token: Token, count: int) -> list[Token]:
        i = self.index.get(id(token))
        if i is None:
            return []
        return [t for t in self.parsed.tokens[i + 1 : i + 1 + count] if t.type != "eos"]

    def cover_after(self, token: Token, count: int) -> None:
        self.covered.update(id(t) for t in self.following(token, count))

    def run(self) -> list[FqlProblem]:
        for comparison in self.notes.comparisons:
            self.comparison(comparison)
        for call in self.notes.calls:
            self.call(call)
        self.spilled: list[tuple[int, int]] = []  # spans of groups whose end Segment misplaces
        self.nested_parens()
        for level in self.notes.levels:
            self.level(level)
        for bang in self.notes.dropped_bangs:
            message = "Segment's `!` only negates contains() and match(); here it is silently dropped"
            self.warn(bang.start, "dropped-not", f"{message}, so what follows is NOT negated")
        if self.parsed.tree is not None:
            for empty in _empty_groups(self.parsed.tree):
                message = "these parentheses hold no condition Segment recognises; its evaluator throws"
                message += " a TypeError on them, so the event is not sent"
                self.warn(empty.start, "empty-group", message)
        for token, level in self.notes.skipped:
            self.skipped(token, level)
        unique = {(p.column, p.kind, p.message): p for p in self.problems}
        return sorted(unique.values(), key=lambda p: (p.column, p.kind))

    # comparisons -------------------------------------------------------------------------------------
    def comparison(self, c: Comparison) -> None:
        node, field, op, val = c.node, c.field, c.operator, c.value
        self.field_name(node, field)
        if op.value not in _OPERATORS:
            self.bad_operator(field, op, val)
        elif op.value in (">", "<") and val.type == "operator" and val.value == "=" and op.end == val.start:
            written = f"{op.value}= {self.source(self.following(val, 1))}"
            message = f"{_q(op.value + '=')} needs a space after it: Segment reads {_q(op.value)}"
            message += f" and then the value `=`, so this is always false; write {_q(written)}"
            self.warn(op.start, "operator-spacing", message)
            self.cover_after(val, 1)
        elif val.type == "operator" and val.value == "=" and op.value == "=":
            self.warn(op.start, "bad-comparison", "`==` is not an operator: Segment compares with the text "
                      '"=" and ignores what follows; write a single `=`')
            self.cover_after(val, 1)
        elif val.type == "eos":
            self.warn(op.start, "bad-comparison", f"{_q(op.value)} has no value after it: Segment compares "
                      'with the text "eos"')
        elif val.type in _NOT_VALUES:
            self.warn(val.start, "bad-comparison", f"{_q(val.value)} is not a value, but Segment takes it as "
                      f'one and compares with the text "{val.value}"')
        elif val.type == "string" and val.value.startswith("'"):
            message = "Segment keeps single quotes as part of the value: this compares with"
            message += f" {val.value} quotes included, so it almost never matches; use double quotes"
            self.warn(val.start, "single-quotes", message)
        else:
            self.literal(node, op, val)

    def field_name(self, node: Condition, field: Token) -> None:
        root = field.value.split(".")[0]
        if node.type not in PATH_ROOTS:
            if field.value != root:
                self.warn(field.start, "unsupported-field", f"Segment ignores {_q(field.value[len(root):])} "
                          f"after {_q(root)}: this tests {_q(root)} itself")
        elif field.value == root:
            message = f"a bare {_q(root)} is not the {root} object: Segment looks up the key {_q(root)}"
            message += f" inside it ({root}.{root}); name a key, e.g. {root}.plan"
            self.warn(field.start, "unsupported-field", message)
        elif field.escaped_separator:
            self.escaped_dot(field, node)

    def escaped_dot(self, field: Token, node: Condition) -> None:
        self.warn(field.start, "escaped-dot", "an escaped `.`, `[` or `]` still separates keys in Segment's "
                  f"lookup, so {_q(node.field)} walks nested keys; a key containing a dot cannot be tested")

    def bad_operator(self, field: Token, op: Token, val: Token) -> None:
        if op.type == "dot":
            message = f"the field name stops at {_q(field.value)}: the next step is not a plain name (it"
            message += " starts with a digit or a quote), so Segment compares with operator `.` and this is"
            message += f" always false; escape it, e.g. {field.value}.\\0"
            self.warn(op.start, "bad-comparison", message)
        else:
            message = f"{_q(op.value)} is not a comparison operator: Segment takes it as one, with"
            message += f" {_q(val.value)} as the value, so this condition is always false"
            self.warn(op.start, "bad-comparison", message)
        self.cover_after(val, 2)

    def literal(self, node: Condition, op: Token, val: Token) -> None:
        word = val.value
        if val.type == "ident" and word.lower() in _KEYWORDS and word not in _KEYWORDS:
            self.warn(val.start, "literal-as-text", f"{_q(word)} is not {_q(word.lower())} (keywords are "
                      f'lower-case): Segment compares with the text "{word}"')
            return
        if not (val.type == "null" or (val.type == "ident" and word in _KEYWORDS)):
            return
        field = _q(node.field)
        if node.type in ("event-type", "event") or (node.type == "name" and word != "null"):
            if word == "null":
                what = f"whether {field} is missing"
                if op.value == "!=":
                    what += " (so `!= null` is true when it is)"
            else:
                what = f"for the boolean {word}"
            self.warn(val.start, "literal-as-text", f'for {field} Segment compares with the text "{word}"; '
                      f"it does not test {what}")
        elif node.operator == "!=" and word in ("true", "false"):
            self.warn(op.start, "literal-as-text", f"`!= {word}` compares text in Segment: it is true for "
                      f'everything but the string "{word}", the boolean {word} included')
        elif node.operator in ("<", "<=", ">", ">="):
            number = {"true": "1", "false": "0", "null": "NaN (never true)"}[word]
            message = f"Segment compares numbers here: {_q(word)} becomes {number}"
            self.warn(val.start, "literal-as-text", message)

    # contains() / match() ----------------------------------------------------------------------------
    def call(self, call: Call) -> None:
        fn = call.name.value
        opener, field, comma, value, _closer = call.positional
        assert field is not None and value is not None
        if call.node is None:
            message = f"{fn}() on {_q(field.value)} is not supported by Segment (only"
            message += f" {_FIELDS_HELP.replace('type, ', '')}): the condition is silently dropped"
            self.warn(field.start, "unsupported-field", message)
            return
        for got, want in ((opener, "("), (comma, ",")):
            if got is not None and got.value != want:
                message = f"{fn}() takes its tokens by position: Segment expected {_q(want)} here and"
                message += f" skipped {_q(got.value)}, so the value it uses is {_q(value.value)}"
                self.warn(got.start, "bad-comparison", message)
                return
        node = call.node
        if node.type in PATH_ROOTS:
            root = PATH_ROOTS[node.type]
            if not field.value.startswith(root + "."):
                self.warn(field.start, "unsupported-field", f"{_q(field.value)} is read as the key "
                          f"{_q(node.name or '')} inside {root} ({node.field}), not as {root} itself")
            elif field.escaped_separator:
                self.escaped_dot(field, node)
        if value.type == "string" and value.value.startswith("'"):
            message = "Segment keeps single quotes as part of the value"
            if fn == "match":
                message += f", so it tests whether the value ends with {_q(str(node.value))}"
            self.warn(value.start, "single-quotes", message + "; use double quotes")
        elif fn == "match":
            self.match_pattern(node, value)

    def match_pattern(self, node: Condition, value: Token) -> None:
        literal = "(any other `*`, `?` or `[` is literal)"
        if value.type != "string":
            self.warn(value.start, "match-pattern", f"match() needs a double-quoted pattern: with "
                      f'{_q(value.value)} Segment tests whether the value ends with "{node.value}"')
            return
        raw = str(token_value(value))
        if raw == "*" or (raw.startswith("*") and not any(ch in raw[1:] for ch in _GLOB_CHARS)):
            return
        if raw.endswith("*"):
            if any(ch in raw[:-1] for ch in _GLOB_CHARS):
                message = "match() is not a glob in Segment: only the trailing `*` counts, so this tests"
                message += f' whether the value starts with "{node.value}" {literal}'
                self.warn(value.start, "match-pattern", message)
        elif raw.startswith("*"):
            self.warn(value.start, "match-pattern", "match() is not a glob in Segment: only the leading `*` "
                      f'counts, so this tests whether the value ends with "{node.value}" {literal}')
        else:
            dropped = f"drops the first character {_q(raw[:1])} and " if raw else ""
            message = f'match() without a leading or trailing `*`: Segment {dropped}tests whether the value'
            message += f' ends with "{node.value}"; write "*{raw}" or "{raw}*"'
            self.warn(value.start, "match-pattern", message)

    # levels: connectives and grouping ----------------------------------------------------------------
    def level(self, level: Level) -> None:
        n = len(level.children)
        spilled = any(a < t.start < b for t in level.connectives for a, b in self.spilled)
        if n >= 2 and {t.value for t in level.connectives} == {"and", "or"} and not spilled:
            first = next(t for t in level.connectives if t.value != level.operator)
            reading = f" {level.operator} ".join(_fql(child) for child in level.children)
            self.warn(first.start, "mixed-and-or", "`and` and `or` are mixed without parentheses: Segment has"
                      f" no precedence and joins all {n} conditions here with the last connective, "
                      f"`{level.operator}`: {reading}; add parentheses to say what you mean")
        if level.operator == "or":
            for previous_end, token in level.adjacent:
                if not self.text[previous_end : token.start].strip(" \t\n"):
                    message = "no `and`/`or` before this condition: Segment joins it with the connective"
                    self.warn(token.start, "missing-connective", message + " of this level, `or`, not `and`")

    def nested_parens(self) -> None:
        if not self.notes.early_closes or self.parsed.tree is None:
            return
        spans = []
        for open_token, _name, _close in self.notes.early_closes:
            closer = self.matching_paren(open_token)
            if closer is not None:
                self.covered.add(id(closer))  # the group's own ")" is left over, and ignored
                spans.append((open_token.start, closer.end))
        intended = parse(self.text, nesting_aware=True)
        if intended.tree is None or _shape(intended.tree) == _shape(self.parsed.tree):
            return
        self.spilled = spans  # the mixed connectives there come from this, not from missing parentheses
        open_token, name, close = self.notes.early_closes[0]
        message = f"the `)` of {name.value}() at column {close.start + 1} also closes this group (Segment's"
        message += " groups end at the first `)`), so the rest of the group is read outside it: Segment reads"
        message += f" {self.parsed.tree.to_fql()}; put {name.value}() last in the group"
        self.warn(open_token.start, "nested-parens", message)

    def matching_paren(self, open_token: Token) -> Token | None:
        i = self.index.get(id(open_token))
        if i is None:
            return None
        depth = 0
        for token in self.parsed.tokens[i:]:
            depth += {"parenleft": 1, "parenright": -1}.get(token.type, 0)
            if depth == 0:
                return token
        return None

    # tokens that started nothing ---------------------------------------------------------------------
    def skipped(self, token: Token, level: Level) -> None:
        if id(token) in self.covered:
            return
        word = token.value
        if token.type != "ident":
            what = f"{_q(word)} starts no condition"
            if token.type == "parenright":
                what = "this `)` closes no group"
            self.warn(token.start, "ignored-token", f"Segment ignores this: {what}")
            return
        lower = word.lower()
        if lower == "not":
            message = f"Segment has no {_q(word)}: the word is silently dropped, so the condition after it"
            message += " is NOT negated (only !contains() and !match() negate)"
            self.warn(token.start, "dropped-not", message)
        elif lower in ("and", "or"):
            if len(level.children) >= 2 and lower != level.operator:
                kind, why = "uppercase-connective", "is not a connective (only lower-case are)"
                if word == lower:
                    kind, why = "operator-spacing", "needs a space before `(`"
                message = f"{_q(word)} {why}: Segment ignores it and joins these conditions with"
                self.warn(token.start, kind, f"{message} `{level.operator}`")
        else:
            self.unsupported_field(token)

    def unsupported_field(self, token: Token) -> None:
        word = token.value
        root = word.split(".")[0]
        compares = [t.type for t in self.following(token, 1)] == ["operator"]
        if compares:
            self.cover_after(token, 2)
        near = next((r for r in ROOTS if r.lower() == root.lower()), None)
        if near is not None:
            self.warn(token.start, "unsupported-field", f"field names are case-sensitive: {_q(root)} is not "
                      f"{_q(near)}, so Segment silently drops this condition")
        elif compares:
            self.warn(token.start, "unsupported-field", f"{_q(word)} is not a field Segment's triggers can "
                      f"test (only {_FIELDS_HELP}): the condition is silently dropped")
        else:
            self.warn(token.start, "ignored-token", f"Segment ignores this: {_q(word)} starts no condition")

    def source(self, tokens: list[Token]) -> str:
        return self.text[tokens[0].start : tokens[-1].end] if tokens else "…"


def _fql(node: Node) -> str:
    return f"({node.to_fql()})" if isinstance(node, Group) else node.to_fql()


def _empty_groups(node: Node) -> Iterator[EmptyGroup]:
    if isinstance(node, EmptyGroup):
        yield node
    elif isinstance(node, Group):
        for child in node.children:
            yield from _empty_groups(child)


def _shape(node: Node) -> tuple[object, ...]:
    """What a tree means, ignoring positions and the nesting of same-connective groups."""
    if isinstance(node, Condition):
        return ("condition", node.type, node.name, node.operator, repr(node.value))
    if isinstance(node, EmptyGroup):
        return ("empty",)
    parts: list[tuple[object, ...]] = []
    for child in node.children:
        shape = _shape(child)
        if shape[0] == "group" and shape[1] == node.operator:
            parts.extend(shape[2])  # type: ignore[arg-type]
        else:
            parts.append(shape)
    if len(parts) == 1:
        return parts[0]
    return ("group", node.operator, tuple(parts))


def lint_parsed(text: str, parsed: Parsed) -> list[FqlProblem]:
    """The warnings for a parsed trigger; none when Segment cannot parse it (that is an error)."""
    if parsed.error is not None or parsed.tree is None:
        return []
    return _Linter(text, parsed).run()
