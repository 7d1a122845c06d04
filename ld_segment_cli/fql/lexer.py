"""The `@segment/fql-ts` 1.10.1 lexer, ported step for step (fql.md section 2): a character reader with
peek/backup, the terminator set, `accept`, identifier escapes and the re-read closing quote."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..mapping_kit.paths import utf16_units

EOS: Final = "-1"  # fql-ts's EOS_FLAG: what next()/peek() return at the end of input
_MAX_LENGTH: Final = 100_000  # fql-ts's "bug catcher" limit for identifiers, numbers and strings
_WHITESPACE: Final = frozenset(" \t\n")
_TERMINATORS: Final = frozenset(" \t\n,])")
_IDENT_FOLLOWERS: Final = frozenset(".(=!")
_ESCAPED_SEPARATORS: Final = frozenset(".[]")


@dataclass(frozen=True, slots=True)
class Token:
    """One lexer token. `start`/`end` are code-point offsets into the trigger text (end exclusive)."""

    type: str  # ident, dot, operator, conditional, string, number, null, brackleft, brackright,
    # parenleft, parenright, comma, eos
    value: str
    start: int
    end: int
    escaped_separator: bool = False  # an identifier containing an escaped ".", "[" or "]" (R15)
    synthetic: bool = False  # the end-of-statement marker the parser appends to a parenthesised group


class LexError(Exception):
    """Why and where (code-point offset) fql-ts gives up; Segment swallows it and reports a TypeError."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


def _is_alpha(c: str) -> bool:
    return len(c) == 1 and ("a" <= c <= "z" or "A" <= c <= "Z")


def _is_number(c: str) -> bool:
    return len(c) == 1 and "0" <= c <= "9"


def _is_ident(c: str) -> bool:
    return _is_alpha(c) or _is_number(c) or c in ("_", "-", "\\")


def _is_terminator(c: str) -> bool:
    return c == EOS or c in _TERMINATORS


class _Lexer:
    """Mirrors fql-ts's Lexer over UTF-16 code units (JavaScript's charAt), positions kept per unit."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.units = utf16_units(text)
        # unit index -> code-point offset, so positions match the Python string the user wrote
        if len(self.units) == len(text):
            self.offsets: list[int] | None = None
        else:
            self.offsets = []
            for i, ch in enumerate(text):
                self.offsets.extend([i] * (2 if ord(ch) > 0xFFFF else 1))
            self.offsets.append(len(text))
        self.pos = 0

    def offset(self, unit: int) -> int:
        return unit if self.offsets is None else self.offsets[min(unit, len(self.offsets) - 1)]

    def fail(self, reason: str, unit: int) -> LexError:
        return LexError(reason, self.offset(unit))

    # reader primitives -------------------------------------------------------------------------------
    def next(self) -> tuple[str, bool]:
        if self.pos == len(self.units):
            return EOS, True
        char = self.units[self.pos]
        self.pos += 1
        return char, False

    def peek(self) -> str:
        char, is_eos = self.next()
        if not is_eos:
            self.backup(1)
        return char

    def backup(self, count: int) -> None:
        self.pos = max(0, self.pos - count)

    def accept(self, expected: str) -> bool:
        """Consume `expected` only when a terminator follows it. Quirk kept: hitting the end of input
        returns False *without* rolling back what was read (so a trailing "an" lexes as "a")."""
        chars = ""
        for _ in expected:
            char, is_eos = self.next()
            chars += char
            if is_eos:
                return False
            if _is_terminator(char):
                break
        if chars == expected and _is_terminator(self.peek()):
            return True
        self.backup(len(chars))
        return False

    # token lexers ------------------------------------------------------------------------------------
    def token(self, type_: str, value: str, start: int, escaped: bool = False) -> Token:
        return Token(type_, _join(value), self.offset(start), self.offset(self.pos), escaped)

    def lex(self) -> list[Token]:
        tokens: list[Token] = []
        simple = {
            ".": "dot", "[": "brackleft", "]": "brackright", ",": "comma", "(": "parenleft", ")": "parenright"
        }
        while True:
            start = self.pos
            char, is_eos = self.next()
            if is_eos:
                tokens.append(self.token("eos", "eos", start))
                return tokens
            if char in _WHITESPACE:
                continue
            if char == "!":
                following = self.peek()
                if _is_alpha(following) or following == "(":
                    tokens.append(self.token("operator", "!", start))
                    continue
            if _is_alpha(char) or char in ("!", "=", ">", "<", "\\", "_"):
                tokens.append(self.operator_or_conditional(char, start))
            elif _is_number(char) or char in ("-", "+"):
                tokens.append(self.number(char, start))
            elif char in ('"', "'"):
                tokens.append(self.string(char, start))
            elif char in simple:
                tokens.append(self.token(simple[char], char, start))
            else:
                shown = self.text[self.offset(start)]
                raise self.fail(f"the character {shown!r} is not allowed outside a string", start)

    def string(self, quote: str, start: int) -> Token:
        text = ""
        while self.peek() != quote:
            char, is_eos = self.next()
            text += char
            if is_eos:
                raise self.fail(f"the string opened here has no closing {quote}", start)
            if len(text) >= _MAX_LENGTH:
                raise self.fail("the string is longer than the 100000 characters the lexer allows", start)
        # R6: the closing quote is eaten only when a terminator follows; otherwise it is read again
        # as the opening quote of a new string.
        self.accept(quote)
        return self.token("string", f"{quote}{text}{quote}", start)

    def number(self, first: str, start: int) -> Token:
        text = ""
        coming = self.peek()
        is_decimal = False
        while _is_number(coming) or coming == ".":
            char, _ = self.next()
            text += char
            if coming == ".":
                if _is_terminator(self.peek()):
                    raise self.fail("a number cannot end with a decimal point", self.pos - 1)
                if is_decimal:
                    raise self.fail("a number cannot have two decimal points", self.pos - 1)
                is_decimal = True
            if len(text) >= _MAX_LENGTH:
                raise self.fail("the number is longer than the lexer allows", start)
            coming = self.peek()
        return self.token("number", first + text, start)

    def operator_or_conditional(self, first: str, start: int) -> Token:
        if first == "=":
            return self.token("operator", "=", start)
        if first == "!":
            if self.accept("="):
                return self.token("operator", "!=", start)
            raise self.fail("'!' must be followed by '=' and a space, or directly by contains/match", start)
        if first == "a":
            return self.token("conditional", "and", start) if self.accept("nd") else self.ident(first, start)
        if first == "o":
            return self.token("conditional", "or", start) if self.accept("r") else self.ident(first, start)
        if first == "n":
            return self.token("null", "null", start) if self.accept("ull") else self.ident(first, start)
        if first in ("<", ">"):
            if self.accept("="):
                return self.token("operator", first + "=", start)
            return self.token("operator", first, start)
        return self.ident(first, start)

    def ident(self, first: str, start: int) -> Token:
        text = ""
        char = first
        escaped_separator = False
        while True:
            if char == "\\":
                if self.peek() == EOS:
                    raise self.fail("a backslash at the end of the text escapes nothing", self.pos - 1)
                char, _ = self.next()
                escaped_separator = escaped_separator or char in _ESCAPED_SEPARATORS
            text += char
            if len(text) >= _MAX_LENGTH:
                raise self.fail("the identifier is longer than the lexer allows", start)
            if not _is_ident(self.peek()):
                break
            char, _ = self.next()
        coming = self.peek()
        if not (_is_terminator(coming) or coming in _IDENT_FOLLOWERS):
            raise self.fail(
                f"{coming!r} cannot directly follow the name {_join(text)!r}; put a space before it", self.pos
            )
        return self.token("ident", text, start, escaped_separator)


def _join(units: str) -> str:
    """Re-pair surrogate halves that the unit-wise lexer split (lone halves stay as they are)."""
    if units.isascii():
        return units
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def lex(text: str) -> list[Token]:
    """The token list ending with an `eos` token, or LexError (fql.md R4-R13)."""
    return _Lexer(text).lex()
