"""The LaunchDarkly (Actions) destination: its settings, the trackEvent and aliasUser actions (fields,
default mappings, presets) and the LaunchDarkly event each builds, byte for byte as Segment would
(launchdarkly.md LD1-LD22), plus the protective default that rejects events Segment would misdate.

`compile_action` is the per-mapping entry point: resolve the mapping (mapping-kit), drop empty values and
validate/coerce against the action's fields (schema), then build the wire-ordered event dict.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson

from .js import UNDEFINED, dumps, orjson_exact, to_string
from .mapping_kit import MappingError, compile_mapping
from .mapping_kit.dates import EPOCH, FAST_ISO_RE, MS_PER_DAY, ONE_MS, dayjs_ms, iso_text
from .mapping_kit.inline import compile_with_fields, one_key_object
from .mapping_kit.schema import Field, PayloadError, compile_fields

# Events dated before this are "implausible" under the protective default: Segment itself launched in
# 2011, so an earlier date is a parsing accident (e.g. dayjs reading "1648661098" as the year 1648).
EARLIEST_PLAUSIBLE_MS: Final = 946_684_800_000  # 2000-01-01T00:00:00Z
# Later than now plus this is implausible too (a day of slack for clock skew between systems).
FUTURE_SLACK_MS: Final = MS_PER_DAY
_COMPAT_HINT: Final = "use --segment-compat to send it anyway"


class MapError(Exception):
    """Why an event produced no LaunchDarkly event. `segment_compat_only` marks the protective default's
    rejects: Segment would have sent these (misdated), `--segment-compat` sends them too."""

    def __init__(self, message: str, segment_compat_only: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.segment_compat_only = segment_compat_only


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    title: str
    description: str
    default_trigger: str
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    trigger: str
    action: str


def _path(path: str) -> dict[str, Any]:
    return {"@path": path}


def _if_exists(first: str, otherwise: str) -> dict[str, Any]:
    return {"@if": {"exists": _path(first), "then": _path(first), "else": _path(otherwise)}}


_TIMESTAMP_DESCRIPTION: Final = "The time when the event happened. Defaults to the time it was received."

TRACK_EVENT: Final = Action(
    name="trackEvent",
    title="Track Event",
    description="Track custom events for use in A/B tests and experimentation.",
    default_trigger='type = "track"',
    fields=(
        Field(
            "context_kind",
            "Context Kind",
            "string",
            default="user",
            description="The event's context kind. If not specified, the context kind defaults to `user`.",
        ),
        Field(
            "user_key",
            "Context Key",
            "string",
            required=True,
            default=_if_exists("$.userId", "$.anonymousId"),
            description="The unique LaunchDarkly context key. In most cases the Segment `userId`.",
        ),
        Field(
            "additional_context_keys",
            "Additional Context Keys",
            "object",
            default={"unauthenticatedUser": _path("$.anonymousId")},
            description="A mapping of additional context kinds to context keys.",
        ),
        Field(
            "event_name",
            "Event Name",
            "string",
            required=True,
            default=_path("$.event"),
            description="The name of the event to track.",
        ),
        Field(
            "metric_value",
            "Metric Value",
            "number",
            default=_if_exists("$.properties.revenue", "$.properties.value"),
            description="The numeric value associated with the event, used by numeric custom metrics.",
        ),
        Field(
            "event_properties",
            "Event Properties",
            "object",
            default=_path("$.properties"),
            description="Optional object containing the properties for the event being tracked.",
        ),
        Field(
            "timestamp",
            "Event timestamp",
            "datetime",
            default=_path("$.timestamp"),
            description=_TIMESTAMP_DESCRIPTION,
        ),
    ),
)

ALIAS_USER: Final = Action(
    name="aliasUser",
    title="Alias User",
    description="Alias an anonymous user with an identified user key.",
    default_trigger='type = "identify" or type = "alias"',
    fields=(
        Field(
            "user_key",
            "User key",
            "string",
            required=True,
            default=_path("$.userId"),
            description="The user's unique key.",
        ),
        Field(
            "previous_key",
            "Anonymous ID",
            "string",
            required=True,
            default=_if_exists("$.previousId", "$.anonymousId"),
            description="The user's previous ID or anonymous ID.",
        ),
        Field(
            "timestamp",
            "Event Timestamp",
            "datetime",
            default=_path("$.timestamp"),
            description=_TIMESTAMP_DESCRIPTION,
        ),
    ),
)

ACTIONS: Final[dict[str, Action]] = {TRACK_EVENT.name: TRACK_EVENT, ALIAS_USER.name: ALIAS_USER}

PRESETS: Final[tuple[Preset, ...]] = (
    Preset("Track Event", TRACK_EVENT.default_trigger, TRACK_EVENT.name),
    Preset("Alias User", ALIAS_USER.default_trigger, ALIAS_USER.name),
)

SETTINGS_FIELDS: Final = (
    Field("client_id", "LaunchDarkly client-side ID", "string", required=True),
    Field(
        "events_host_name",
        "LaunchDarkly events host name",
        "string",
        format="hostname",
        default="events.launchdarkly.com",
    ),
)
DEFAULT_EVENTS_HOST: Final = "events.launchdarkly.com"


def default_mapping(action: str) -> dict[str, Any]:
    """defaultValues(fields): every field that has a default, in field order (a fresh copy)."""
    return {f.key: copy.deepcopy(f.default) for f in ACTIONS[action].fields if f.default is not UNDEFINED}


def effective_mapping(action: str, fields: dict[str, Any] | None) -> dict[str, Any]:
    """The mapping Segment would store: the defaults, shallowly replaced by the given fields (MK2)."""
    return {**default_mapping(action), **(fields or {})}


_validate_settings = compile_fields(SETTINGS_FIELDS, remove_empty=False)


def validate_settings(settings: dict[str, Any]) -> list[str]:
    """Segment's settings validation (LD2): its messages, empty when the settings are accepted."""
    try:
        _validate_settings(settings)
    except PayloadError as exc:
        return list(exc.messages)
    return []


def _current_ms() -> int:
    return time.time_ns() // 1_000_000


def _creation_date(segment_compat: bool, now_ms: Callable[[], int]) -> Callable[[dict[str, Any]], int]:
    """parseTimestamp (LD19-LD21): dayjs's instant, or "now" when dayjs has none; by default an event
    Segment would date "now" or implausibly is rejected instead (MapError with segment_compat_only)."""
    if segment_compat:

        def creation_date_compat(payload: dict[str, Any]) -> int:
            ts = payload.get("timestamp", UNDEFINED)
            ms = None if ts is UNDEFINED else dayjs_ms(ts)
            return now_ms() if ms is None else ms

        return creation_date_compat

    def creation_date(payload: dict[str, Any]) -> int:
        ts = payload.get("timestamp", UNDEFINED)
        if ts is UNDEFINED:
            raise MapError(
                "timestamp is missing: Segment would date this event at the time of sending "
                f"({_COMPAT_HINT})",
                segment_compat_only=True,
            )
        ms = dayjs_ms(ts)
        if ms is None:
            raise MapError(
                f"timestamp {_shown(ts)} passes Segment's check but its date parser cannot read it: Segment "
                f"would date this event at the time of sending ({_COMPAT_HINT})",
                segment_compat_only=True,
            )
        if ms < EARLIEST_PLAUSIBLE_MS:
            raise MapError(
                f"timestamp {_shown(ts)} is read by Segment as {iso_text(ms)}, before 2000-01-01"
                f"{_misreading_hint(ts)} ({_COMPAT_HINT})",
                segment_compat_only=True,
            )
        if ms > now_ms() + FUTURE_SLACK_MS:
            raise MapError(
                f"timestamp {_shown(ts)} is read by Segment as {iso_text(ms)}, more than a day in the future"
                f"{_misreading_hint(ts)} ({_COMPAT_HINT})",
                segment_compat_only=True,
            )
        return ms

    return creation_date


def _shown(value: Any) -> str:
    return dumps(value).decode()


def _misreading_hint(ts: Any) -> str:
    if type(ts) is str and ts.isascii() and ts.isdigit():
        return "; a digit string is read as year, month, day and time digits, not as epoch time"
    if type(ts) is int or type(ts) is float:
        return "; a number is read as epoch milliseconds, not seconds"
    return ""


def _track_event(kind: str, user_key: str, extra: dict[str, Any] | None, name: str, metric: Any,
                 data: dict[str, Any] | None, created: int) -> dict[str, Any]:
    """The custom event, keys in wire order (LD13-LD18); `metric` UNDEFINED when there is none."""
    if extra is None:
        context_keys = {kind: user_key}
    else:  # additional keys in their order as String(); the base wins a clash in place, else goes last
        context_keys = {k: v if type(v) is str else to_string(v) for k, v in extra.items()}
        context_keys[kind] = user_key
    if data is None:
        data = {}
    if metric is UNDEFINED:
        return {"kind": "custom", "key": name, "contextKeys": context_keys, "creationDate": created, "data": data}
    return {
        "kind": "custom",
        "key": name,
        "contextKeys": context_keys,
        "creationDate": created,
        "metricValue": metric,
        "data": data,
    }


def _alias(user_key: str, previous_key: str, created: int) -> dict[str, Any]:
    """The alias event, keys in wire order (LD10)."""
    return {
        "kind": "alias",
        "key": user_key,
        "previousKey": previous_key,
        "contextKind": "user",
        "previousContextKind": "anonymousUser",
        "creationDate": created,
    }


def _track_event_builder(creation_date: Callable[[dict[str, Any]], int]) -> Callable[[dict[str, Any]], dict]:
    def build(payload: dict[str, Any]) -> dict[str, Any]:
        return _track_event(
            payload.get("context_kind") or "user",
            payload["user_key"],
            payload.get("additional_context_keys"),
            payload["event_name"],
            payload.get("metric_value", UNDEFINED),
            payload.get("event_properties"),
            creation_date(payload),
        )

    return build


def _alias_user_builder(creation_date: Callable[[dict[str, Any]], int]) -> Callable[[dict[str, Any]], dict]:
    def build(payload: dict[str, Any]) -> dict[str, Any]:
        return _alias(payload["user_key"], payload["previous_key"], creation_date(payload))

    return build


_BUILDERS: Final = {TRACK_EVENT.name: _track_event_builder, ALIAS_USER.name: _alias_user_builder}


# ---------------------------------------------------------------------------------------------------------
# The common case in one pass. Resolving the mapping into a payload object, cleaning it, validating it and
# reading it back costs more than everything else per event; when every field already has the type Segment
# expects (no coercion, no error, a canonical ISO timestamp the protective default accepts) the result is
# known without any of that. For each mapping one function is generated (mapping_kit.inline): the fields are
# read into locals, the checks below run on them, and the event is built in place; anything else goes to
# `fallback`, the exact path, which then decides as Segment does. Two finishes: the event dict (the views),
# or its JSON.stringify bytes with its key and creationDate (the hot path, for NDJSON and send).

_CREATED: Final = """\
    ts = $timestamp
    if type(ts) is not str or iso_match(ts) is None:
        return fallback(event)
    try:
        created = (fromiso(ts) - EPOCH) // ONE_MS
    except ValueError:
        return fallback(event)
"""
# The protective default's range (absent under --segment-compat); "now" only grows, so a date later than
# `latest` is checked again, exactly, by the fallback.
_PLAUSIBLE: Final = """\
    if not earliest <= created <= latest:
        return fallback(event)
"""
# Segment drops undefined, null and "" before validating; then each type must match as it is. The common
# type is tested first (a dict is never undefined, null or ""). Two shapes are decided here, once: a constant
# context_kind, and additional_context_keys of one entry (the presets'), read as that entry's value.
_TRACK_EVENT_USER: Final = """\
    user_key = $user_key
    name = $event_name
    if type(user_key) is not str or not user_key or type(name) is not str or not name:
        return fallback(event)
"""
_TRACK_EVENT_KIND: Final = """\
    kind = $context_kind
    if type(kind) is not str or not kind:
        if kind is U or kind is None or kind == "":
            kind = "user"
        else:
            return fallback(event)
"""
_TRACK_EVENT_EXTRA: Final = """\
    extra = $additional_context_keys
    if type(extra) is dict:
        context_keys = {k: v if type(v) is str else to_string(v) for k, v in extra.items()}
        context_keys[kind] = user_key
    elif extra is U or extra is None or extra == "":
        context_keys = {kind: user_key}
    else:
        return fallback(event)
"""
_TRACK_EVENT_ONE_EXTRA: Final = """\
    extra = $additional_context_keys
    if extra is U:
        context_keys = {kind: user_key}
    else:
        context_keys = {extra_key: extra if type(extra) is str else to_string(extra), kind: user_key}
"""
_TRACK_EVENT_BUILD: Final = """\
    data = $event_properties
    if type(data) is not dict:
        if data is U or data is None or data == "":
            data = {}
        else:
            return fallback(event)
    metric = $metric_value
    if type(metric) is float or type(metric) is int:
        ld = {"kind": "custom", "key": name, "contextKeys": context_keys, "creationDate": created,
              "metricValue": metric, "data": data}
    elif metric is U or metric is None or metric == "":
        ld = {"kind": "custom", "key": name, "contextKeys": context_keys, "creationDate": created, "data": data}
    else:
        return fallback(event)
"""


def _track_event_checks(mapping: dict[str, Any]) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """trackEvent's checks and build for this mapping's shapes: (source, fields to unwrap, names it uses)."""
    kind = mapping.get("context_kind", UNDEFINED)
    if type(kind) is str and kind:
        kind_source = "    kind = $context_kind\n"
    elif kind is UNDEFINED or kind is None or kind == "":
        kind_source = '    kind = "user"\n'
    else:
        kind_source = _TRACK_EVENT_KIND
    extra_key = one_key_object(mapping.get("additional_context_keys"))
    if extra_key is None:
        return _TRACK_EVENT_USER + kind_source + _TRACK_EVENT_EXTRA + _TRACK_EVENT_BUILD, (), {}
    return (_TRACK_EVENT_USER + kind_source + _TRACK_EVENT_ONE_EXTRA + _TRACK_EVENT_BUILD,
            ("additional_context_keys",), {"extra_key": extra_key})


# JSON.stringify writes a float unlike orjson when it is integral or in exponent range, and an integer beyond
# 2**53 as the double JavaScript holds: such events, values orjson refuses (integers beyond 64 bits) and values
# nested deeper than it writes, are written by js.dumps (what event_bytes does too).
_TRACK_EVENT_BYTES: Final = """\
    try:
        if ((type(metric) is float and not exact_floats(metric))
                or (type(metric) is int and not -SAFE <= metric <= SAFE) or (data and not exact_floats(data))):
            return js_dumps(ld), name, created
        return dumps(ld), name, created
    except (TypeError, RecursionError):  # see js.dumps: beyond 64 bits, or deeper than orjson or Python go
        return js_dumps(ld), name, created
"""
# An identify without userId (the common reject) is decided here when nothing else is wrong: the date passed
# above and previous_key is a string, so Segment's validation reports the missing user_key alone.
_ALIAS_USER_CHECKS: Final = """\
    user_key = $user_key
    previous_key = $previous_key
    if type(user_key) is not str or not user_key or type(previous_key) is not str or not previous_key:
        if (user_key is U or user_key is None or user_key == "") and type(previous_key) is str and previous_key:
            raise MapError(missing_user_key)
        return fallback(event)
    ld = {"kind": "alias", "key": user_key, "previousKey": previous_key, "contextKind": "user",
          "previousContextKind": "anonymousUser", "creationDate": created}
"""
_ALIAS_USER_BYTES: Final = """\
    try:
        return dumps(ld), user_key, created
    except TypeError:
        return fallback(event)
"""
_RETURN_DICT: Final = "    return ld\n"
_ONE_PASS: Final = {  # action: (checks and build for a mapping, bytes finish)
    TRACK_EVENT.name: (_track_event_checks, _TRACK_EVENT_BYTES),
    ALIAS_USER.name: (lambda mapping: (_ALIAS_USER_CHECKS, (), {}), _ALIAS_USER_BYTES),
}

Emitted = tuple[bytes, str, int]
"""What the hot path needs of a LaunchDarkly event: its JSON.stringify bytes, String(its key), its creationDate."""


def _one_pass(action: str, mapping: dict[str, Any], segment_compat: bool, now_ms: Callable[[], int],
              fallback: Callable[[Any], Any], as_bytes: bool) -> Callable[[Any], Any] | None:
    """The generated one-pass function of a mapping (event must be an object), or None when the mapping has
    no plain fields to generate from."""
    checks_for, bytes_finish = _ONE_PASS[action]
    if type(mapping) is not dict:
        return None
    checks, unwrap, shape_names = checks_for(mapping)
    tail = _CREATED + ("" if segment_compat else _PLAUSIBLE) + checks + (bytes_finish if as_bytes else _RETURN_DICT)
    names = {
        "fallback": fallback, "iso_match": FAST_ISO_RE.match, "fromiso": datetime.fromisoformat, "EPOCH": EPOCH,
        "ONE_MS": ONE_MS, "earliest": EARLIEST_PLAUSIBLE_MS, "latest": now_ms() + FUTURE_SLACK_MS,
        "to_string": to_string, "dumps": orjson.dumps, "js_dumps": dumps, "exact_floats": orjson_exact, "SAFE": 2**53,
        "MapError": MapError, "missing_user_key": "The root value is missing the required field 'user_key'.",
        **shape_names,
    }
    keys = [f.key for f in ACTIONS[action].fields]
    return compile_with_fields(mapping, keys, f"{action}_{'bytes' if as_bytes else 'event'}", tail, names,
                               on_error="return fallback(event)", unwrap=unwrap)


def event_bytes(event: dict[str, Any]) -> bytes:
    """js.dumps(event) for an event built here, checking only where a float can be (a float must be written
    as JavaScript does): `metricValue` and `data`. Every other value is a string or an integer by
    construction; orjson refuses what it cannot write (undefined, integers over 64 bits), and js.dumps
    then takes over."""
    metric = event.get("metricValue")
    data = event.get("data")
    try:
        if orjson_exact(metric) and (data is None or orjson_exact(data)):
            return orjson.dumps(event)
    except (TypeError, RecursionError):
        pass
    return dumps(event)


def _exact_path(action: str, mapping: dict[str, Any], segment_compat: bool,
                now_ms: Callable[[], int]) -> Callable[[Any], dict[str, Any]]:
    """Resolve, validate, build: Segment's own steps, for every event."""
    resolve = compile_mapping(mapping)
    validate = compile_fields(ACTIONS[action].fields)
    build = _BUILDERS[action](_creation_date(segment_compat, now_ms))

    def exact(event: Any) -> dict[str, Any]:
        try:
            payload = validate(resolve(event))
        except PayloadError as exc:
            raise MapError(exc.message) from None
        except MappingError as exc:
            raise MapError(getattr(exc, "message", str(exc))) from None
        return build(payload)

    return exact


def compile_action(
    action: str,
    mapping: dict[str, Any],
    *,
    segment_compat: bool = False,
    now_ms: Callable[[], int] = _current_ms,
    one_pass: bool = True,
) -> Callable[[Any], dict[str, Any]]:
    """Compile one subscription into `event -> LaunchDarkly event dict` (keys in wire order, so that
    js.dumps(result) is the body element). Raises MapError with Segment's message when the event is
    rejected at the mapping stage (MK1 steps 2-4) or by the protective default.

    `one_pass=False` gives the exact path alone (resolve, validate, build): the reference that the one-pass
    path is tested against."""
    exact = _exact_path(action, mapping, segment_compat, now_ms)
    fast = _one_pass(action, mapping, segment_compat, now_ms, exact, as_bytes=False) if one_pass else None
    if fast is None:
        return exact

    def build(event: Any) -> dict[str, Any]:
        return fast(event) if type(event) is dict else exact(event)

    return build


def compile_emitter(
    action: str,
    mapping: dict[str, Any],
    *,
    segment_compat: bool = False,
    now_ms: Callable[[], int] = _current_ms,
    one_pass: bool = True,
) -> Callable[[dict[str, Any]], Emitted]:
    """Compile one subscription for the hot path: `event (an object) -> (event_bytes(ld), String(ld["key"]),
    ld["creationDate"])` for the event compile_action builds, raising the same MapError."""
    exact = _exact_path(action, mapping, segment_compat, now_ms)

    def slow(event: Any) -> Emitted:
        ld = exact(event)
        key = ld["key"]
        return event_bytes(ld), key if type(key) is str else to_string(key), ld["creationDate"]

    fast = _one_pass(action, mapping, segment_compat, now_ms, slow, as_bytes=True) if one_pass else None
    return slow if fast is None else fast
