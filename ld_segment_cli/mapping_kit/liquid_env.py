"""`@liquid` (MK38) on python-liquid, configured like Segment's liquidjs engine: the same disabled tags and
filters, unknown filters ignored, 1000-character templates, and output stringified the JavaScript way."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final, TextIO

from liquid import Environment
from liquid.builtin.statement import Statement, StatementNode
from liquid.context import Context
from liquid.exceptions import Error as LiquidError
from liquid.exceptions import FilterError, LiquidSyntaxError
from liquid.stream import TokenStream
from liquid.tag import Tag
from liquid.undefined import Undefined

from ..js import UNDEFINED, number_to_string
from .paths import js_length

DISABLED_TAGS: Final = ("case", "for", "include", "layout", "render", "tablerow")
DISABLED_FILTERS: Final = (
    "array_to_sentence_string",
    "concat",
    "find",
    "find_exp",
    "find_index",
    "find_index_exp",
    "group_by",
    "group_by_exp",
    "has",
    "has_exp",
    "map",
    "newline_to_br",
    "reject",
    "reject_exp",
    "reverse",
    "sort",
    "sort_natural",
    "uniq",
    "where_exp",
    "type",
)
MAX_TEMPLATE_LENGTH: Final = 1000


class LiquidFailure(Exception):
    """A template that cannot be parsed or rendered; `message` is the engine's text without position."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def js_output(value: Any) -> str:
    """liquidjs's stringify for `{{ ... }}` output: arrays concatenated, numbers as JS prints them."""
    if type(value) is str:
        return value
    if value is None or value is UNDEFINED or isinstance(value, Undefined):
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int or type(value) is float:
        return number_to_string(value)
    if isinstance(value, list | tuple):
        return "".join(js_output(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


class _JsStatementNode(StatementNode):
    __slots__ = ()

    def render_to_output(self, context: Context, buffer: TextIO) -> bool | None:
        buffer.write(js_output(self.expression.evaluate(context)))
        return None


class _JsStatement(Statement):
    node_class = _JsStatementNode


def _disabled_tag(tag_name: str) -> type[Tag]:
    class Disabled(Tag):
        block = False
        name = tag_name

        def parse(self, stream: TokenStream) -> Any:
            raise LiquidSyntaxError(f'tag "{tag_name}" is disabled', linenum=stream.current.linenum)

    return Disabled


def _disabled_filter(filter_name: str) -> Callable[..., Any]:
    def disabled(*_args: Any, **_kwargs: Any) -> Any:
        raise FilterError(f'filter "{filter_name}" is disabled')

    return disabled


def _environment() -> Environment:
    # liquidjs ignores unknown filters unless strictFilters is set, so python-liquid must too.
    env = Environment(strict_filters=False)
    env.add_tag(_JsStatement)
    for tag in DISABLED_TAGS:
        env.add_tag(_disabled_tag(tag))
    for name in DISABLED_FILTERS:
        env.add_filter(name, _disabled_filter(name))
    return env


_ENV: Final = _environment()


def _message(error: LiquidError) -> str:
    return str(error.args[0]) if error.args else str(error)


@lru_cache(maxsize=256)
def compile_liquid(source: str) -> Callable[[Any], str]:
    """Parse a template once; the closure renders it against an event. Raises LiquidFailure."""
    if source == "":
        return lambda _event: ""
    if js_length(source) > MAX_TEMPLATE_LENGTH:
        raise LiquidFailure(f"liquid template values are limited to {MAX_TEMPLATE_LENGTH} characters")
    try:
        template = _ENV.from_string(source)
    except LiquidError as error:
        raise LiquidFailure(_message(error)) from None

    def render(event: Any) -> str:
        try:
            return template.render(**event) if type(event) is dict else template.render()
        except LiquidError as error:
            raise LiquidFailure(_message(error)) from None

    return render
