"""The `@template` renderer (MK15-MK17): `{{{path}}}` then `{{path}}` placeholders, no escaping, values
through JavaScript String(). A template is split into literal text and compiled lookups once."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from ..js import UNDEFINED, to_string
from .paths import Getter, template_getter

Renderer = Callable[[Any], str]

_TRIPLE: Final = re.compile(r"\{\{\{([^}]+)\}\}\}")
_DOUBLE: Final = re.compile(r"\{\{([^}]+)\}\}")
# String.prototype.trim(): JS WhiteSpace and LineTerminator (differs from str.strip() on a few characters).
_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_trim(text: str) -> str:
    return text.strip(_JS_WHITESPACE)


def _text(value: Any) -> str:
    """A placeholder's output: undefined and null render empty, anything else through String()."""
    if type(value) is str:
        return value
    if value is None or value is UNDEFINED:
        return ""
    return to_string(value)


def _getter(placeholder: str) -> Getter:
    return template_getter(js_trim(placeholder))


def template_paths(template: str) -> tuple[str, ...] | None:
    """The paths a template's placeholders look up, or None when the render can look up paths it does not
    spell (a `{{{...}}}` value is scanned again for `{{...}}`)."""
    if _TRIPLE.search(template) is not None:
        return None
    return tuple(js_trim(match.group(1)) for match in _DOUBLE.finditer(template))


def _pieces(template: str, pattern: re.Pattern[str]) -> tuple[str, tuple[tuple[Getter, str], ...]]:
    """(leading text, ((lookup, text after it), ...)) for one placeholder syntax."""
    pairs: list[tuple[Getter, str]] = []
    head = ""
    last = 0
    for match in pattern.finditer(template):
        literal = template[last : match.start()]
        if pairs:
            pairs[-1] = (pairs[-1][0], literal)
        else:
            head = literal
        pairs.append((_getter(match.group(1)), ""))
        last = match.end()
    tail = template[last:]
    if pairs:
        pairs[-1] = (pairs[-1][0], tail)
    else:
        head = tail
    return head, tuple(pairs)


def _substituting(head: str, pairs: tuple[tuple[Getter, str], ...]) -> Renderer:
    if len(pairs) == 1:
        ((getter, tail),) = pairs

        def render_one(data: Any) -> str:
            value = getter(data)
            return head + (value if type(value) is str else _text(value)) + tail

        return render_one

    def render_many(data: Any) -> str:
        out = [head]
        for getter, literal in pairs:
            value = getter(data)
            out.append(value if type(value) is str else _text(value))
            out.append(literal)
        return "".join(out)

    return render_many


def _double_pass(text: str, data: Any) -> str:
    return _DOUBLE.sub(lambda match: _text(_getter(match.group(1))(data)), text)


@lru_cache(maxsize=512)
def compile_template(template: str) -> Renderer:
    """Compile a template into `data -> str`, exactly Segment's two-pass render."""
    if _TRIPLE.search(template) is None:
        head, pairs = _pieces(template, _DOUBLE)
        if not pairs:
            return lambda _data: head
        return _substituting(head, pairs)
    # The double-brace pass runs over the text the triple pass produced, so values inserted by
    # `{{{...}}}` are themselves scanned for `{{...}}` (as in Segment). Rare: done with the compiled regex.
    first = _substituting(*_pieces(template, _TRIPLE))

    def render_two_pass(data: Any) -> str:
        return _double_pass(first(data), data)

    return render_two_pass


def render_template(template: str, data: Any) -> str:
    """Render a `@template` string against `data` (the "render template" vectors)."""
    return compile_template(template)(data)
