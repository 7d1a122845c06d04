"""mapping-kit.md section 11, kind "render template" (M91-M99), the `@template` rules MK15-MK17, and
`@liquid` (MK38) on the configured python-liquid engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from ld_segment_cli.mapping_kit import MappingError, compile_mapping, render_template, validate_mapping
from ld_segment_cli.mapping_kit.liquid_env import DISABLED_FILTERS, DISABLED_TAGS

# (id, template as JSON, data as JSON, expected as JSON)
VECTORS = [
    ("M91", '"{{foo}}"', '{"foo":true}', '"true"'),
    ("M92", '"{{foo}}"', '{"foo":1}', '"1"'),
    ("M93", '"{{foo}}"', '{"foo":{"bar":"baz"}}', '"[object Object]"'),
    ("M94", '"{{foo}}"', '{"foo":null}', '""'),
    ("M95", '"{{foo}}"', "{}", '""'),
    ("M96", '"{{foo}}}"', '{"foo":"hello"}', '"hello}"'),
    ("M97", '"Hello world"', "{}", '"Hello world"'),
    ("M98", '"Hello {{foo}} {{bar}}"', '{"foo":"Mr.","bar":"Bean"}', '"Hello Mr. Bean"'),
    ("M99", '"Hello {{foo.bar}}"', '{"foo":{"bar":"World"}}', '"Hello World"'),
]


def _error(action: Callable[[], Any]) -> str:
    """The message of the MappingError `action` raises (compared exactly, not as a pattern)."""
    with pytest.raises(MappingError) as caught:
        action()
    return caught.value.message


@pytest.mark.parametrize(
    ("template", "data", "expected"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS]
)
def test_render_template_vector(template: str, data: str, expected: str) -> None:
    assert render_template(orjson.loads(template), orjson.loads(data)) == orjson.loads(expected)


@pytest.mark.parametrize(
    ("template", "data", "expected"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS]
)
def test_render_template_vector_through_the_template_directive(
    template: str, data: str, expected: str
) -> None:
    assert compile_mapping({"@template": orjson.loads(template)})(orjson.loads(data)) == orjson.loads(
        expected
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{a", "{{a"),
        ("{{{a}}", ""),  # the lookup of "{a"
        ("{{ a }}-{{{ a }}}", "x-x"),
        ("{{$.a}}", ""),
        ("{{ }}", "[object Object]"),
        ("{{.}}", "[object Object]"),
        ("{{\u00a0a\ufeff}}", "x"),  # JavaScript's trim() whitespace
        ("{{a}}{{a}}", "xx"),
        ("{{list}}", ",a,3,4"),
        ("{{empty}}", ""),
        ("{{t}}|{{f}}|{{one}}|{{half}}|{{big}}|{{negzero}}", "true|false|1|1.5|1e+21|0"),
        ("{{obj}}", "[object Object]"),
        ("{{text.length}}", "5"),
        ("{{{inner}}}", "x"),  # a triple-brace value is scanned again by the double-brace pass
        ("{{inner}}", "{{a}}"),  # a double-brace value is not
    ],
)
def test_template_rules(template: str, expected: str) -> None:
    data: dict[str, Any] = {
        "a": "x",
        "list": [None, "a", [3, [4]]],
        "empty": [],
        "t": True,
        "f": False,
        "one": 1.0,
        "half": 1.5,
        "big": 1e21,
        "negzero": -0.0,
        "obj": {"k": 1},
        "text": "hello",
        "inner": "{{a}}",
    }
    assert render_template(template, data) == expected


def test_template_always_yields_a_string_so_its_key_is_kept() -> None:
    assert compile_mapping({"k": {"@template": "{{missing}}"}})({}) == {"k": ""}


# --- @liquid ----------------------------------------------------------------------------------------------


def _liquid(template: str, event: dict[str, Any]) -> Any:
    return compile_mapping({"@liquid": template})(event)


def test_liquid_renders_against_the_event() -> None:
    event = {"properties": {"plan": "pro", "seats": 3, "price": 2.0}, "flag": True}
    assert _liquid("{{ properties.plan | upcase }}-{{ properties.seats | plus: 1 }}", event) == "PRO-4"
    assert _liquid("{% if flag %}yes{% else %}no{% endif %}", event) == "yes"
    assert _liquid("{{ properties.price }}|{{ missing }}|{{ properties }}", event) == "2||[object Object]"
    assert _liquid("", event) == ""


@pytest.mark.parametrize("tag", DISABLED_TAGS)
def test_liquid_disabled_tags(tag: str) -> None:
    assert _error(lambda: _liquid(f"{{% {tag} x %}}", {"x": [1]})) == f'tag "{tag}" is disabled'


@pytest.mark.parametrize("name", DISABLED_FILTERS)
def test_liquid_disabled_filters(name: str) -> None:
    assert _error(lambda: _liquid(f"{{{{ x | {name} }}}}", {"x": [2, 1]})) == f'filter "{name}" is disabled'


def test_liquid_unknown_filters_are_ignored_like_liquidjs() -> None:
    assert _liquid("{{ x | no_such_filter }}", {"x": "v"}) == "v"


def test_liquid_template_length_limit() -> None:
    template = "a" * 1001
    problems = validate_mapping({"k": {"@liquid": template}})
    assert [p.segment_message() for p in problems] == [
        "/k liquid template values are limited to 1000 characters."
    ]
    assert (
        _error(lambda: compile_mapping([{"@liquid": template}])({}))
        == "liquid template values are limited to 1000 characters"
    )
    assert _liquid("a" * 1000, {}) == "a" * 1000


def test_liquid_value_must_be_a_string() -> None:
    assert [p.segment_message() for p in validate_mapping({"@liquid": 5})] == [
        "/@liquid should be a string but it is a number."
    ]
    assert _error(lambda: compile_mapping([{"@liquid": 5}])({})) == "liquid template value must be a string"


def test_liquid_syntax_errors_are_reported_per_event() -> None:
    assert _error(lambda: _liquid("{{ a", {})) == "expected '}}', found 'eof'"
