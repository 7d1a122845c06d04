"""The one-pass paths agree with the exact ones: the generated field resolver (mapping_kit.inline) with the
closures of compile_field_resolvers, and compile_action's one-pass builders with resolve → validate → build,
on the presets and on mappings of every shape, for arbitrary events (same event, or same MapError)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ld_segment_cli.actions import ACTIONS, MapError, compile_action, effective_mapping, event_bytes
from ld_segment_cli.js import UNDEFINED, dumps
from ld_segment_cli.mapping_kit import MappingError, compile_field_resolvers
from ld_segment_cli.mapping_kit.inline import compile_fields_tuple

NOW = 1_700_000_000_000

KEYS = ["userId", "anonymousId", "previousId", "event", "properties", "timestamp", "revenue", "value", "0", "length"]
TIMESTAMPS = [
    "2023-11-01T10:00:00.123Z", "2023-11-01T10:00:00Z", "2023-11-01T10:00:00+02:00", "2023-11-01T24:00:00Z",
    "2023-02-30T10:00:00Z", "1648661098", "2023-11-01", "1999-12-31T23:59:59Z", "2099-01-01T00:00:00Z",
    "not a date", "", "2023-11-01T10:00:00.123456Z", " 2023-11-01T10:00:00Z",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.sampled_from(TIMESTAMPS),
    st.text(max_size=6), st.sampled_from(["", "0", "12.5", "true", "user"]), st.integers(0, 2**45),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=8,
)
events = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)

MAPPINGS: list[tuple[str, dict[str, Any]]] = [
    ("trackEvent", effective_mapping("trackEvent", None)),
    ("aliasUser", effective_mapping("aliasUser", None)),
    ("trackEvent", effective_mapping("trackEvent", {
        "context_kind": "customer",
        "user_key": {"@path": "$.properties.0"},
        "event_name": {"@template": "{{event}}!"},
        "metric_value": {"@if": {"exists": {"@path": "$.properties.value"}, "then": 1, "else": 0}},
        "event_properties": {"@path": "properties"},
        "timestamp": {"@path": "$.properties.length"},
        "not_a_field": {"@path": {"@path": "$.event"}},  # raises when event is no string: Segment rejects
    })),
    ("trackEvent", effective_mapping("trackEvent", {
        "user_key": {"@if": {"exists": {"@path": "$.userId"}, "then": {"@path": "$.userId"}}},
        "additional_context_keys": {"device": {"@path": "$.properties.revenue"}, "n": 3},
        "metric_value": {"@path": "$.properties.revenue.value"},
        "timestamp": "2023-05-05T05:05:05.005Z",
    })),
    ("aliasUser", effective_mapping("aliasUser", {
        "previous_key": {"@if": {"exists": {"@path": "$.previousId"}, "then": {"@path": "$.previousId"},
                                 "else": False}},
        "timestamp": 1_690_000_000_000,
    })),
    ("aliasUser", {"user_key": {"@path": "$.userId"}, "previous_key": None, "timestamp": {"@path": "$.timestamp"}}),
]


def _outcome(build: Any, event: Any) -> Any:
    try:
        return build(event)
    except (MapError, MappingError) as exc:
        return type(exc).__name__, exc.message


@pytest.mark.parametrize(("action", "mapping"), MAPPINGS)
def test_generated_field_resolver_equals_the_closures(action: str, mapping: dict[str, Any]) -> None:
    keys = [f.key for f in ACTIONS[action].fields]
    generated = compile_fields_tuple(mapping, keys)
    resolvers = compile_field_resolvers(mapping)
    assert generated is not None and resolvers is not None

    def by_closures(event: dict[str, Any]) -> tuple[Any, ...]:
        resolved = {key: resolver(event) for key, resolver in resolvers.items()}
        return tuple(resolved.get(key, UNDEFINED) for key in keys)

    @settings(max_examples=300, deadline=None)
    @given(events)
    def check(event: dict[str, Any]) -> None:
        assert repr(_outcome(generated, event)) == repr(_outcome(by_closures, event))

    check()


@pytest.mark.parametrize("compat", [False, True])
@pytest.mark.parametrize(("action", "mapping"), MAPPINGS)
def test_one_pass_action_equals_the_exact_path(action: str, mapping: dict[str, Any], compat: bool) -> None:
    one_pass = compile_action(action, mapping, segment_compat=compat, now_ms=lambda: NOW)
    exact = compile_action(action, mapping, segment_compat=compat, now_ms=lambda: NOW, one_pass=False)

    @settings(max_examples=300, deadline=None)
    @given(events)
    def check(event: dict[str, Any]) -> None:
        assert repr(_outcome(one_pass, event)) == repr(_outcome(exact, event))

    check()


def test_generated_resolver_inlines_the_preset_shapes() -> None:
    generated = compile_fields_tuple(effective_mapping("trackEvent", None), [f.key for f in ACTIONS["trackEvent"].fields])
    assert generated is not None
    assert "(event)" not in generated.source.replace("resolve_fields(event)", "")  # no resolver call left


def test_mapping_with_a_root_directive_has_no_generated_resolver() -> None:
    mapping = {"__segment_internal_directive": {"@flatten": {"value": {"@path": "$.properties"}}}}
    assert compile_fields_tuple(mapping, ["user_key"]) is None


@pytest.mark.parametrize(("action", "mapping"), MAPPINGS)
def test_event_bytes_equals_json_stringify_of_built_events(action: str, mapping: dict[str, Any]) -> None:
    """event_bytes looks for floats only in metricValue and data; every other value is a string or an integer
    by construction. Floats such as 2.0, 1e16 and 1e-7 must still come out as JavaScript writes them."""
    build = compile_action(action, mapping, segment_compat=True, now_ms=lambda: NOW)
    floaty = st.dictionaries(st.sampled_from(KEYS), st.one_of(values, st.sampled_from([2.0, 1e16, 1e-7, -0.0, 1e21])))

    @settings(max_examples=300, deadline=None)
    @given(events, floaty)
    def check(event: dict[str, Any], properties: dict[str, Any]) -> None:
        event = {**event, "properties": properties}
        try:
            built = build(event)
        except MapError:
            return
        assert event_bytes(built) == dumps(built)

    check()
