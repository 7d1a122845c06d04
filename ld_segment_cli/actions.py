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
from typing import Any, Final

import orjson

from .js import UNDEFINED, dumps, orjson_exact, to_string
from .mapping_kit import MappingError, compile_mapping
from .mapping_kit.dates import MS_PER_DAY, dayjs_ms, iso_text
from .mapping_kit.inline import FieldsResolver, compile_fields_tuple
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
# expects (no coercion, no error, a plausible date) the result is known without any of that. The fast
# builders check exactly that and hand anything else to the exact path, which then decides as Segment does.

def _fast_creation(segment_compat: bool, now_ms: Callable[[], int]) -> Callable[[Any], int | None]:
    """The creationDate of a timestamp that passes Segment's validation as it is and that the protective
    default accepts; None for everything else (absent, coerced, unreadable, implausible: the exact path)."""
    latest = now_ms() + FUTURE_SLACK_MS  # "now" only grows: later than this is checked again, exactly

    def created_ms(ts: Any) -> int | None:
        t = type(ts)
        if t is str:
            if ":" not in ts:  # a number string is date-like by another rule: the exact path knows it
                return None
        elif t is not int and t is not float:
            return None
        ms = dayjs_ms(ts)  # a string with ":" is date-like exactly when dayjs can read it
        if ms is None or not (segment_compat or EARLIEST_PLAUSIBLE_MS <= ms <= latest):
            return None
        return ms

    return created_ms


def _track_event_fast(resolve_fields: FieldsResolver, created_ms: Callable[[Any], int | None],
                      exact: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def track_event(event: Any) -> dict[str, Any]:
        if type(event) is not dict:
            return exact(event)
        try:
            kind, user_key, extra, name, metric, data, ts = resolve_fields(event)
        except MappingError:
            return exact(event)
        created = created_ms(ts)
        # Segment drops undefined, null and "" before validating; then each type must match as it is.
        if type(user_key) is not str or not user_key or type(name) is not str or not name or created is None:
            return exact(event)
        if kind is UNDEFINED or kind is None or kind == "":
            kind = "user"
        elif type(kind) is not str:
            return exact(event)
        if extra is UNDEFINED or extra is None or extra == "":
            extra = None
        elif type(extra) is not dict:
            return exact(event)
        if metric is None or metric == "":
            metric = UNDEFINED
        elif metric is not UNDEFINED and type(metric) is not int and type(metric) is not float:
            return exact(event)
        if data is UNDEFINED or data is None or data == "":
            data = None
        elif type(data) is not dict:
            return exact(event)
        return _track_event(kind, user_key, extra, name, metric, data, created)

    return track_event


def _alias_user_fast(resolve_fields: FieldsResolver, created_ms: Callable[[Any], int | None],
                     exact: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def alias_user(event: Any) -> dict[str, Any]:
        if type(event) is not dict:
            return exact(event)
        try:
            user_key, previous_key, ts = resolve_fields(event)
        except MappingError:
            return exact(event)
        created = created_ms(ts)
        if type(user_key) is not str or not user_key or type(previous_key) is not str or not previous_key \
                or created is None:
            return exact(event)
        return _alias(user_key, previous_key, created)

    return alias_user


_FAST_BUILDERS: Final = {TRACK_EVENT.name: _track_event_fast, ALIAS_USER.name: _alias_user_fast}


def event_bytes(event: dict[str, Any]) -> bytes:
    """js.dumps(event) for an event built here, checking only where a float can be (a float must be written
    as JavaScript does): `metricValue` and `data`. Every other value is a string or an integer by
    construction; orjson refuses what it cannot write (undefined, integers over 64 bits), and js.dumps
    then takes over."""
    metric = event.get("metricValue")
    data = event.get("data")
    if (type(metric) is not float or orjson_exact(metric)) and (data is None or orjson_exact(data)):
        try:
            return orjson.dumps(event)
        except TypeError:
            pass
    return dumps(event)


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

    resolve_fields = compile_fields_tuple(mapping, [f.key for f in ACTIONS[action].fields]) if one_pass else None
    if resolve_fields is None:
        return exact
    return _FAST_BUILDERS[action](resolve_fields, _fast_creation(segment_compat, now_ms), exact)
