"""The LaunchDarkly actions through `compile_action` (the path the pipeline uses): launchdarkly.md vectors
L1-L9 and S1-S8, contextKeys/metricValue/data rules (LD14-LD18), creationDate (LD19-LD21), the protective
default and settings validation (LD2)."""

from __future__ import annotations

import pytest

from ld_segment_cli import actions
from ld_segment_cli.actions import (
    MapError,
    compile_action,
    default_mapping,
    effective_mapping,
    validate_settings,
)
from ld_segment_cli.js import dumps

NOW = 1_700_000_000_000  # injected "current time" (2023-11-14T22:13:20Z)
TRACK_ANON = "72d7bed1-4f42-4f2f-8955-72677340546b"
ALIAS_ANON = "701a9c00-aabe-4074-80b7-0fd6cab41c08"
TS = "2022-03-30T17:24:58Z"


def _now() -> int:
    return NOW


def _track(**extra) -> dict:
    event = {
        "anonymousId": TRACK_ANON,
        "event": "Test Event",
        "properties": {"revenue": 123.456},
        "timestamp": TS,
        "type": "track",
        "userId": "user1234",
    }
    event.update(extra)
    return event


def _body(action: str, mapping: dict, event: dict, *, compat: bool = False) -> str:
    return dumps(compile_action(action, mapping, segment_compat=compat, now_ms=_now)(event)).decode()


def _error(action: str, mapping: dict, event: dict, *, compat: bool = False) -> MapError:
    with pytest.raises(MapError) as info:
        compile_action(action, mapping, segment_compat=compat, now_ms=_now)(event)
    return info.value


# --- 9.1: L1-L9 -----------------------------------------------------------------------------------

ALIAS_BODY = (
    '{"kind":"alias","key":"user1234","previousKey":"701a9c00-aabe-4074-80b7-0fd6cab41c08",'
    '"contextKind":"user","previousContextKind":"anonymousUser","creationDate":1648661098000}'
)
TRACK_BODY = (
    '{"kind":"custom","key":"Test Event","contextKeys":{"unauthenticatedUser":'
    '"72d7bed1-4f42-4f2f-8955-72677340546b","user":"user1234"},"creationDate":1648661098000,'
    '"metricValue":123.456,"data":{"revenue":123.456}}'
)
IDENTIFY = {
    "anonymousId": ALIAS_ANON,
    "event": "Test Event",
    "properties": {},
    "timestamp": TS,
    "type": "identify",
    "userId": "user1234",
}

L_VECTORS = [
    ("L1", "aliasUser", None, IDENTIFY, ALIAS_BODY),
    ("L2", "aliasUser", None, IDENTIFY, ALIAS_BODY),  # custom host: same body, other URL
    (
        "L3",
        "aliasUser",
        None,
        {**IDENTIFY, "anonymousId": "anonId1234", "type": "alias", "previousId": ALIAS_ANON},
        ALIAS_BODY,
    ),
    (
        "L4",
        "aliasUser",
        None,
        {**IDENTIFY, "anonymousId": None, "previousId": None},
        MapError("The root value is missing the required field 'previous_key'."),
    ),
    ("L5", "trackEvent", None, _track(), TRACK_BODY),
    ("L6", "trackEvent", None, _track(), TRACK_BODY),
    (
        "L7",
        "trackEvent",
        {
            "context_kind": "segmentUser",
            "additional_context_keys": {"previousId": {"@path": "$.properties.previousId"}},
        },
        _track(properties={"revenue": 123.456, "previousId": "test123"}),
        '{"kind":"custom","key":"Test Event","contextKeys":{"previousId":"test123","segmentUser":"user1234"},'
        '"creationDate":1648661098000,"metricValue":123.456,"data":{"revenue":123.456,"previousId":"test123"}}',
    ),
    (
        "L8",
        "trackEvent",
        {"context_kind": "segmentUser", "additional_context_keys": {}},
        _track(properties={"revenue": 123.456, "previousId": "test123"}),
        '{"kind":"custom","key":"Test Event","contextKeys":{"segmentUser":"user1234"},'
        '"creationDate":1648661098000,'
        '"metricValue":123.456,"data":{"revenue":123.456,"previousId":"test123"}}',
    ),
    (
        "L9",
        "trackEvent",
        None,
        {k: v for k, v in _track().items() if k != "userId"},
        '{"kind":"custom","key":"Test Event","contextKeys":'
        '{"unauthenticatedUser":"72d7bed1-4f42-4f2f-8955-72677340546b",'
        '"user":"72d7bed1-4f42-4f2f-8955-72677340546b"},"creationDate":1648661098000,"metricValue":123.456,'
        '"data":{"revenue":123.456}}',
    ),
]


@pytest.mark.parametrize(
    ("vid", "action", "fields", "event", "expected"), L_VECTORS, ids=[v[0] for v in L_VECTORS]
)
@pytest.mark.parametrize("compat", [False, True], ids=["default", "segment-compat"])
def test_launchdarkly_action_vectors(vid, action, fields, event, expected, compat):
    mapping = effective_mapping(action, fields)
    if isinstance(expected, MapError):
        error = _error(action, mapping, event, compat=compat)
        assert error.message == expected.message
        assert not error.segment_compat_only
    else:
        assert _body(action, mapping, event, compat=compat) == expected


# --- 9.2: S1-S8 (raw-value mappings without the defaults, as the snapshot tests build them) -------

S_A, S_B, S_C = "ejK#0yc)je6nnS#S", "8&tx*8iz0@V]qDguvfK", "qkWpQ2NP*4"
S_VECTORS = [
    (
        "S1",
        "aliasUser",
        {"user_key": S_A, "previous_key": S_A},
        f'{{"kind":"alias","key":"{S_A}","previousKey":"{S_A}","contextKind":"user",'
        f'"previousContextKind":"anonymousUser","creationDate":{NOW}}}',
    ),
    (
        "S2",
        "aliasUser",
        {"user_key": S_A, "previous_key": S_A, "timestamp": "2021-02-01T00:00:00.000Z"},
        f'{{"kind":"alias","key":"{S_A}","previousKey":"{S_A}","contextKind":"user",'
        '"previousContextKind":"anonymousUser","creationDate":1612137600000}',
    ),
    (
        "S3",
        "trackEvent",
        {"user_key": S_B, "event_name": S_B},
        f'{{"kind":"custom","key":"{S_B}","contextKeys":{{"user":"{S_B}"}},"creationDate":{NOW},"data":{{}}}}',
    ),
    (
        "S4",
        "trackEvent",
        {
            "context_kind": S_B,
            "user_key": S_B,
            "additional_context_keys": {"testType": S_B},
            "event_name": S_B,
            "metric_value": 70594582198353.92,
            "event_properties": {"testType": S_B},
            "timestamp": "2021-02-01T00:00:00.000Z",
        },
        f'{{"kind":"custom","key":"{S_B}","contextKeys":{{"testType":"{S_B}","{S_B}":"{S_B}"}},'
        f'"creationDate":1612137600000,"metricValue":70594582198353.92,"data":{{"testType":"{S_B}"}}}}',
    ),
    (
        "S5",
        "aliasUser",
        {"user_key": S_C, "previous_key": S_C},
        f'{{"kind":"alias","key":"{S_C}","previousKey":"{S_C}","contextKind":"user",'
        f'"previousContextKind":"anonymousUser","creationDate":{NOW}}}',
    ),
    (
        "S6",
        "aliasUser",
        {"user_key": S_C, "previous_key": S_C, "timestamp": "2021-02-01T00:00:00.000Z"},
        f'{{"kind":"alias","key":"{S_C}","previousKey":"{S_C}","contextKind":"user",'
        '"previousContextKind":"anonymousUser","creationDate":1612137600000}',
    ),
    (
        "S7",
        "trackEvent",
        {"user_key": "52YDr", "event_name": "52YDr"},
        f'{{"kind":"custom","key":"52YDr","contextKeys":{{"user":"52YDr"}},"creationDate":{NOW},"data":{{}}}}',
    ),
    (
        "S8",
        "trackEvent",
        {
            "context_kind": "52YDr",
            "user_key": "52YDr",
            "additional_context_keys": {"testType": "52YDr"},
            "event_name": "52YDr",
            "metric_value": -84620425497149.44,
            "event_properties": {"testType": "52YDr"},
            "timestamp": "2021-02-01T00:00:00.000Z",
        },
        '{"kind":"custom","key":"52YDr","contextKeys":{"testType":"52YDr","52YDr":"52YDr"},'
        '"creationDate":1612137600000,"metricValue":-84620425497149.44,"data":{"testType":"52YDr"}}',
    ),
]
SNAPSHOT_EVENT = {
    "type": "track",
    "event": "Test Event",
    "userId": "user1234",
    "anonymousId": "anonId1234",
    "properties": {},
    "traits": {},
}


@pytest.mark.parametrize(("vid", "action", "mapping", "expected"), S_VECTORS, ids=[v[0] for v in S_VECTORS])
def test_snapshot_vectors_with_segment_compat(vid, action, mapping, expected):
    assert _body(action, mapping, SNAPSHOT_EVENT, compat=True) == expected


@pytest.mark.parametrize(("vid", "action", "mapping", "expected"), S_VECTORS, ids=[v[0] for v in S_VECTORS])
def test_snapshot_vectors_by_default_reject_events_segment_would_date_now(vid, action, mapping, expected):
    if "timestamp" in mapping:
        assert _body(action, mapping, SNAPSHOT_EVENT) == expected
    else:
        error = _error(action, mapping, SNAPSHOT_EVENT)
        assert error.segment_compat_only
        assert error.message == (
            "timestamp is missing: Segment would date this event at the time of sending "
            "(use --segment-compat to send it anyway)"
        )


# --- LD11: aliasUser defaults ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            {**IDENTIFY, "type": "alias", "previousId": ""},
            "The root value is missing the required field 'previous_key'.",
        ),
        (
            {k: v for k, v in IDENTIFY.items() if k != "userId"},
            "The root value is missing the required field 'user_key'.",
        ),
        (
            {"type": "identify", "timestamp": TS},
            "The root value is missing the required field 'user_key'. "
            "The root value is missing the required field 'previous_key'.",
        ),
    ],
)
def test_alias_user_required_fields(event, message):
    assert _error("aliasUser", default_mapping("aliasUser"), event).message == message


# --- LD14 / LD15: contextKeys ---------------------------------------------------------------------


def _context_keys(fields: dict, event: dict | None = None) -> str:
    body = _body("trackEvent", effective_mapping("trackEvent", fields), event or _track())
    return body.split('"contextKeys":', 1)[1].split(',"creationDate"', 1)[0]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"additional_context_keys": {"user": "x", "org": "o"}}, '{"user":"user1234","org":"o"}'),
        ({"additional_context_keys": {"org": "o"}}, '{"org":"o","user":"user1234"}'),
        (
            {
                "additional_context_keys": {
                    "n": 123,
                    "f": 1.0,
                    "b": True,
                    "z": None,
                    "o": {"x": 1},
                    "a": [1, "a", None],
                }
            },
            '{"n":"123","f":"1","b":"true","z":"null","o":"[object Object]","a":"1,a,","user":"user1234"}',
        ),
        ({"additional_context_keys": {}}, '{"user":"user1234"}'),
        ({"additional_context_keys": None}, '{"user":"user1234"}'),
        ({"additional_context_keys": {"gone": {"@path": "$.missing"}}}, '{"user":"user1234"}'),
        (
            {"context_kind": ""},
            '{"unauthenticatedUser":"72d7bed1-4f42-4f2f-8955-72677340546b","user":"user1234"}',
        ),
        (
            {"context_kind": None},
            '{"unauthenticatedUser":"72d7bed1-4f42-4f2f-8955-72677340546b","user":"user1234"}',
        ),
        (
            {"context_kind": "  "},
            '{"unauthenticatedUser":"72d7bed1-4f42-4f2f-8955-72677340546b","  ":"user1234"}',
        ),
        (
            {"context_kind": "org", "additional_context_keys": {"org": "x", "user": "u"}},
            '{"org":"user1234","user":"u"}',
        ),
    ],
)
def test_context_keys_merge_additional_keys_then_the_base(fields, expected):
    assert _context_keys(fields) == expected


def test_context_keys_without_user_id_carry_the_anonymous_id_twice():
    event = {k: v for k, v in _track(anonymousId="a").items() if k != "userId"}
    assert _context_keys({}, event) == '{"unauthenticatedUser":"a","user":"a"}'


def test_missing_anonymous_id_drops_the_unauthenticated_user_entry():
    event = {k: v for k, v in _track().items() if k != "anonymousId"}
    assert _context_keys({}, event) == '{"user":"user1234"}'


# --- LD16 / LD17 / LD18: metricValue, data, key ---------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "fragment"),
    [
        ({"revenue": 0}, '"metricValue":0,'),
        ({"revenue": "12"}, '"metricValue":12,'),
        ({"revenue": "12.5"}, '"metricValue":12.5,'),
        ({"revenue": True}, '"metricValue":1,'),
        ({"revenue": [5]}, '"metricValue":5,'),
        ({"revenue": "Infinity"}, '"metricValue":null,'),
        ({"revenue": None, "value": 7}, '"metricValue":7,'),
        ({"value": 3.5}, '"metricValue":3.5,'),
    ],
)
def test_metric_value_is_coerced_to_a_number(properties, fragment):
    assert fragment in _body("trackEvent", default_mapping("trackEvent"), _track(properties=properties))


@pytest.mark.parametrize("properties", [{}, {"revenue": None}, {"revenue": ""}, {"value": None}])
def test_absent_metric_value_is_omitted_not_null(properties):
    body = _body("trackEvent", default_mapping("trackEvent"), _track(properties=properties))
    assert '"metricValue"' not in body
    assert body.endswith(f',"creationDate":1648661098000,"data":{dumps(properties).decode()}}}')


def test_non_numeric_metric_value_drops_the_event():
    error = _error("trackEvent", default_mapping("trackEvent"), _track(properties={"revenue": "abc"}))
    assert error.message == "Metric Value must be a number but it was a string."


def test_data_defaults_to_an_empty_object_and_keeps_nested_nulls():
    event = {k: v for k, v in _track().items() if k != "properties"}
    assert _body("trackEvent", default_mapping("trackEvent"), event).endswith('"data":{}}')
    nested = _track(properties={"a": None, "b": {"c": None, "d": ""}})
    assert _body("trackEvent", default_mapping("trackEvent"), nested).endswith(
        '"data":{"a":null,"b":{"c":null,"d":""}}}'
    )


def test_non_object_properties_drop_the_event():
    error = _error("trackEvent", default_mapping("trackEvent"), _track(properties="oops"))
    assert error.message == "Event Properties must be an object but it was a string."


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"event": 12}, '"key":"12"'),
        ({"userId": 42}, '"user":"42"'),
        ({"userId": True}, '"user":"true"'),
        ({"userId": ["a"]}, '"user":"a"'),
    ],
)
def test_event_name_and_user_key_are_coerced_to_strings(extra, fragment):
    assert fragment in _body("trackEvent", default_mapping("trackEvent"), _track(**extra))


def test_object_event_name_drops_the_event():
    error = _error("trackEvent", default_mapping("trackEvent"), _track(event={"a": 1}))
    assert error.message == "Event Name must be a string but it was an object."


# --- LD19-LD21: creationDate and the protective default -------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "created"),
    [
        ("2022-03-30T17:24:58Z", 1648661098000),
        ("2022-03-30T17:24:58.123+02:00", 1648653898123),
        ("2022-03-30", 1648598400000),
        ("2022-03-30T17:24:58", 1648661098000),
        (1648661098000, 1648661098000),
        ("March 30, 2022", 1648598400000),
    ],
)
@pytest.mark.parametrize("compat", [False, True], ids=["default", "segment-compat"])
def test_creation_date_is_the_parsed_instant(timestamp, created, compat):
    body = _body(
        "aliasUser", default_mapping("aliasUser"), {**IDENTIFY, "timestamp": timestamp}, compat=compat
    )
    assert body.endswith(f'"creationDate":{created}}}')


@pytest.mark.parametrize(
    ("timestamp", "segment_created", "reason"),
    [
        (None, NOW, "timestamp is missing: Segment would date this event at the time of sending"),
        ("", NOW, "timestamp is missing: Segment would date this event at the time of sending"),
        (
            "-99999999999",
            NOW,
            'timestamp "-99999999999" passes Segment\'s check but its date parser cannot read it: '
            "Segment would date this event at the time of sending",
        ),
        (
            "1648661098",
            -9989301600000,
            'timestamp "1648661098" is read by Segment as 1653-06-14T02:00:00.000Z, before 2000-01-01; '
            "a digit string is read as year, month, day and time digits, not as epoch time",
        ),
        (
            "1648661098000",
            -9989301600000,
            'timestamp "1648661098000" is read by Segment as 1653-06-14T02:00:00.000Z, before 2000-01-01; '
            "a digit string is read as year, month, day and time digits, not as epoch time",
        ),
        (
            1648661098,
            1648661098,
            "timestamp 1648661098 is read by Segment as 1970-01-20T01:57:41.098Z, before 2000-01-01; "
            "a number is read as epoch milliseconds, not seconds",
        ),
        (
            1.5,
            1,
            "timestamp 1.5 is read by Segment as 1970-01-01T00:00:00.001Z, before 2000-01-01; "
            "a number is read as epoch milliseconds, not seconds",
        ),
        (
            "2099-01-01T00:00:00Z",
            4070908800000,
            'timestamp "2099-01-01T00:00:00Z" is read by Segment as 2099-01-01T00:00:00.000Z, '
            "more than a day in the future",
        ),
    ],
)
def test_events_segment_would_misdate_are_rejected_unless_segment_compat(timestamp, segment_created, reason):
    event = {**IDENTIFY, "timestamp": timestamp}
    mapping = default_mapping("aliasUser")
    error = _error("aliasUser", mapping, event)
    assert error.segment_compat_only
    assert error.message == f"{reason} (use --segment-compat to send it anyway)"
    body = _body("aliasUser", mapping, event, compat=True)
    assert body.endswith(f'"creationDate":{segment_created}}}')


def test_unmapped_timestamp_is_dated_now_only_with_segment_compat():
    event = {k: v for k, v in IDENTIFY.items() if k != "timestamp"}
    assert _body("aliasUser", default_mapping("aliasUser"), event, compat=True).endswith(
        f'"creationDate":{NOW}}}'
    )
    assert _error("aliasUser", default_mapping("aliasUser"), event).segment_compat_only


def test_timestamps_up_to_a_day_ahead_are_accepted():
    # 2023-11-15T22:13:20Z is exactly NOW + 1 day
    body = _body("aliasUser", default_mapping("aliasUser"), {**IDENTIFY, "timestamp": "2023-11-15T22:13:20Z"})
    assert body.endswith(f'"creationDate":{NOW + 86_400_000}}}')
    assert _error(
        "aliasUser", default_mapping("aliasUser"), {**IDENTIFY, "timestamp": "2023-11-15T22:13:21Z"}
    )


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        ("not a date", "Event Timestamp must be a valid date-like string but it was not."),
        (True, "Event Timestamp must be a valid date-like string but it was not."),
        ({"a": 1}, "Event Timestamp must be a string or number but it was an object."),
    ],
)
@pytest.mark.parametrize("compat", [False, True], ids=["default", "segment-compat"])
def test_unparseable_timestamps_fail_validation_in_both_modes(timestamp, message, compat):
    error = _error(
        "aliasUser", default_mapping("aliasUser"), {**IDENTIFY, "timestamp": timestamp}, compat=compat
    )
    assert error.message == message
    assert not error.segment_compat_only


def test_track_event_timestamp_label_is_lower_case():
    error = _error("trackEvent", default_mapping("trackEvent"), _track(timestamp="not a date"))
    assert error.message == "Event timestamp must be a valid date-like string but it was not."


# --- definitions, presets, defaults ---------------------------------------------------------------


def test_field_labels_and_order():
    assert [(f.key, f.label, f.type, f.required) for f in actions.ACTIONS["trackEvent"].fields] == [
        ("context_kind", "Context Kind", "string", False),
        ("user_key", "Context Key", "string", True),
        ("additional_context_keys", "Additional Context Keys", "object", False),
        ("event_name", "Event Name", "string", True),
        ("metric_value", "Metric Value", "number", False),
        ("event_properties", "Event Properties", "object", False),
        ("timestamp", "Event timestamp", "datetime", False),
    ]
    assert [(f.key, f.label, f.type, f.required) for f in actions.ACTIONS["aliasUser"].fields] == [
        ("user_key", "User key", "string", True),
        ("previous_key", "Anonymous ID", "string", True),
        ("timestamp", "Event Timestamp", "datetime", False),
    ]


def test_presets_use_the_default_mappings():
    assert [(p.name, p.trigger, p.action) for p in actions.PRESETS] == [
        ("Track Event", 'type = "track"', "trackEvent"),
        ("Alias User", 'type = "identify" or type = "alias"', "aliasUser"),
    ]
    assert dumps(default_mapping("trackEvent")).decode() == (
        '{"context_kind":"user","user_key":{"@if":{"exists":{"@path":"$.userId"},"then":{"@path":"$.userId"},'
        '"else":{"@path":"$.anonymousId"}}},"additional_context_keys":{"unauthenticatedUser":'
        '{"@path":"$.anonymousId"}},"event_name":{"@path":"$.event"},"metric_value":{"@if":{"exists":'
        '{"@path":"$.properties.revenue"},"then":{"@path":"$.properties.revenue"},"else":'
        '{"@path":"$.properties.value"}}},"event_properties":{"@path":"$.properties"},'
        '"timestamp":{"@path":"$.timestamp"}}'
    )
    assert dumps(default_mapping("aliasUser")).decode() == (
        '{"user_key":{"@path":"$.userId"},"previous_key":{"@if":{"exists":{"@path":"$.previousId"},'
        '"then":{"@path":"$.previousId"},"else":{"@path":"$.anonymousId"}}},"timestamp":{"@path":"$.timestamp"}}'
    )


def test_effective_mapping_replaces_defaults_shallowly_and_keeps_field_order():
    mapping = effective_mapping("trackEvent", {"additional_context_keys": {}, "event_name": "x"})
    assert mapping["additional_context_keys"] == {}
    assert list(mapping) == [f.key for f in actions.ACTIONS["trackEvent"].fields]
    mapping["user_key"]["@if"]["then"] = "mutated"
    assert default_mapping("trackEvent")["user_key"]["@if"]["then"] == {"@path": "$.userId"}


@pytest.mark.parametrize(
    ("settings", "messages"),
    [
        ({"client_id": "123123123"}, []),
        ({"client_id": 42}, []),
        ({"client_id": ""}, []),
        ({"client_id": "x", "events_host_name": "events2.launchdarkly.com"}, []),
        ({}, ["The root value is missing the required field 'client_id'."]),
        (
            {"client_id": "x", "events_host_name": "https://events.launchdarkly.com"},
            ["LaunchDarkly events host name must be a valid hostname string but it was not."],
        ),
        (
            {"client_id": "x", "events_host_name": ""},
            ["LaunchDarkly events host name must be a valid hostname string but it was not."],
        ),
        (
            {"events_host_name": "a/b"},
            [
                "The root value is missing the required field 'client_id'.",
                "LaunchDarkly events host name must be a valid hostname string but it was not.",
            ],
        ),
    ],
)
def test_settings_validation(settings, messages):
    assert validate_settings(settings) == messages
