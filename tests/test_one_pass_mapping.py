"""The one-pass paths agree with the exact ones: the generated field resolver (mapping_kit.inline) with the
closures of compile_field_resolvers, and the generated one-pass functions of compile_action (event dicts) and
compile_emitter (bytes, key, creationDate) with resolve → validate → build, on the presets and on mappings
of every shape, for arbitrary events (same event, or same MapError)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ld_segment_cli.actions import (
    ACTIONS,
    MapError,
    _one_pass,
    compile_action,
    compile_emitter,
    effective_mapping,
    event_bytes,
)
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
# Floats that JSON.stringify writes unlike orjson (the one-pass bytes must leave these to event_bytes).
odd_floats = st.sampled_from([2.0, 1e16, 1e-7, -0.0, 1e21, 12.5])
floaty = st.dictionaries(st.sampled_from(KEYS), st.one_of(values, odd_floats))
texts = st.one_of(st.text(min_size=1, max_size=6), st.sampled_from(["user-1", "0", " ", "Order Completed"]))
# Arbitrary objects rarely take the one-pass path (it wants string ids, a name and a canonical date), so half
# the examples are export-like events with a couple of keys replaced by arbitrary values.
export_like = st.builds(
    lambda event, replaced: {**event, **replaced},
    st.fixed_dictionaries(
        {"userId": texts, "anonymousId": texts, "event": texts, "timestamp": st.sampled_from(TIMESTAMPS[:3])},
        optional={"previousId": texts, "properties": st.dictionaries(
            st.sampled_from(["revenue", "value", "currency", "length", "0"]),
            st.one_of(scalars, odd_floats, st.floats(allow_nan=False)), max_size=4)},
    ),
    st.dictionaries(st.sampled_from(KEYS), values, max_size=2),
)
events = st.one_of(st.dictionaries(st.sampled_from(KEYS), values, max_size=8), export_like)

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
    # shapes the generator decides once: an empty constant kind, one extra key equal to the kind, a nested path
    ("trackEvent", effective_mapping("trackEvent", {
        "context_kind": "", "additional_context_keys": {"user": {"@path": "$.properties.revenue"}}})),
    ("trackEvent", effective_mapping("trackEvent", {
        "context_kind": 7, "additional_context_keys": {"anon": {"@path": "$.anonymousId.0"}}})),
    ("trackEvent", effective_mapping("trackEvent", {
        "context_kind": None, "additional_context_keys": {"n": 3}, "event_properties": {"@path": "$.event"}})),
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


@pytest.mark.parametrize("as_bytes", [False, True], ids=["event", "bytes"])
@pytest.mark.parametrize("compat", [False, True], ids=["default", "compat"])
@pytest.mark.parametrize(("action", "mapping"), MAPPINGS)
def test_one_pass_equals_the_exact_path(action: str, mapping: dict[str, Any], compat: bool, as_bytes: bool) -> None:
    """The generated function of compile_action (event dicts) or compile_emitter (bytes, key, creationDate),
    with a counting fallback: the test also fails if the one-pass path never ran where it can."""
    exact = compile_action(action, mapping, segment_compat=compat, now_ms=lambda: NOW, one_pass=False)

    def reference(event: dict[str, Any]) -> Any:
        built = exact(event)
        return (dumps(built), built["key"], built["creationDate"]) if as_bytes else built

    counts = {"examples": 0, "fallbacks": 0}

    def fallback(event: dict[str, Any]) -> Any:
        counts["fallbacks"] += 1
        return reference(event)

    one_pass = _one_pass(action, mapping, compat, lambda: NOW, fallback, as_bytes)
    assert one_pass is not None

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(events, st.builds(lambda e, p: {**e, "properties": p}, events, floaty)))
    def check(event: dict[str, Any]) -> None:
        counts["examples"] += 1
        assert repr(_outcome(one_pass, event)) == repr(_outcome(reference, event))

    check()
    if mapping.get("timestamp") == {"@path": "$.timestamp"} and mapping.get("previous_key") is not None:
        assert counts["fallbacks"] < counts["examples"], "the one-pass path never ran"


def test_presets_take_the_one_pass_path_on_an_export_event() -> None:
    event = {"type": "track", "userId": "u1", "anonymousId": "a1", "previousId": "p0", "event": "Order Completed",
             "properties": {"revenue": 12.5, "currency": "EUR"}, "timestamp": "2023-11-01T10:00:00.123Z"}

    def fallback(event: Any) -> Any:
        raise AssertionError("fell back to the exact path")

    for action in ACTIONS:
        emit = _one_pass(action, effective_mapping(action, None), False, lambda: NOW, fallback, as_bytes=True)
        assert emit is not None
        line, key, created = emit(event)
        assert line == dumps(compile_action(action, effective_mapping(action, None), now_ms=lambda: NOW)(event))
        assert created == 1698832800123 and key == ("Order Completed" if action == "trackEvent" else "u1")


def test_generated_emitter_reads_the_preset_fields_in_place() -> None:
    emit = compile_emitter("trackEvent", effective_mapping("trackEvent", None))
    assert "(event)" not in emit.source.replace("trackEvent_bytes(event)", "").replace("fallback(event)", "")


def test_generated_resolver_inlines_the_preset_shapes() -> None:
    generated = compile_fields_tuple(effective_mapping("trackEvent", None), [f.key for f in ACTIONS["trackEvent"].fields])
    assert generated is not None
    assert "(event)" not in generated.source.replace("resolve_fields(event)", "")  # no resolver call left


def test_a_key_several_fields_read_is_read_once_at_the_top() -> None:
    emit = compile_emitter("trackEvent", effective_mapping("trackEvent", None))
    hoisted = [line for line in emit.source.splitlines() if line.startswith("    _e")]
    assert len(hoisted) == 2  # anonymousId (user_key's fallback, additional_context_keys) and properties
    assert emit.source.count("event.get(") == 3 + len(hoisted)  # userId, event, timestamp read where used


def test_mapping_with_a_root_directive_has_no_generated_resolver() -> None:
    mapping = {"__segment_internal_directive": {"@flatten": {"value": {"@path": "$.properties"}}}}
    assert compile_fields_tuple(mapping, ["user_key"]) is None


@pytest.mark.parametrize(("action", "mapping"), MAPPINGS)
def test_event_bytes_equals_json_stringify_of_built_events(action: str, mapping: dict[str, Any]) -> None:
    """event_bytes looks for floats only in metricValue and data; every other value is a string or an integer
    by construction. Floats such as 2.0, 1e16 and 1e-7 must still come out as JavaScript writes them."""
    build = compile_action(action, mapping, segment_compat=True, now_ms=lambda: NOW)

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
