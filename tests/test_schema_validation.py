"""Removal of empty values, Ajv coercion/validation and Segment's error wording (mapping-kit.md MK41-MK46,
vectors P1-P19), through the same compiled validator the actions use."""

from __future__ import annotations

import math

import pytest

from ld_segment_cli.js import UNDEFINED, dumps
from ld_segment_cli.mapping_kit.schema import Field, PayloadError, compile_fields

# --- P1-P8: removeEmptyValues (the JSON schemas of the vectors, written as fields) ----------------

EMPTY_VALUE_VECTORS = [
    (
        "P1",
        (Field("foo", "foo", "number"), Field("bar", "bar", "string"), Field("baz", "baz", "boolean")),
        {"foo": "", "bar": "1", "baz": True},
        {"bar": "1", "baz": True},
    ),
    (
        "P2",
        (Field("foo", "foo", "object"), Field("bar", "bar", "string")),
        {"foo": {}, "bar": "1"},
        {"foo": {}, "bar": "1"},
    ),
    (
        "P3",
        (
            Field(
                "a",
                "a",
                "object",
                properties=(Field("b", "b", "number"), Field("c", "c", "string", allow_null=True)),
            ),
        ),
        {"a": {"b": "", "c": None}},
        {"a": {"c": None}},
    ),
    (
        "P4",
        (Field("data", "data", "object"),),
        {"data": {"context": {"search": ""}}},
        {"data": {"context": {"search": ""}}},
    ),
    ("P5", (Field("a", "a", "string"), Field("b", "b", "string")), {"a": None, "b": "1"}, {"b": "1"}),
    (
        "P6",
        (Field("a", "a", "string", allow_null=True), Field("b", "b", "string")),
        {"a": None, "b": "1"},
        {"a": None, "b": "1"},
    ),
    (
        "P7",
        (Field("foo", "foo", "string"), Field("bar", "bar", "string")),
        {"foo": "", "bar": "1"},
        {"bar": "1"},
    ),
    (
        "P8",
        (
            Field(
                "product",
                "product",
                "object",
                properties=(
                    Field("product_id", "product_id", "string"),
                    Field("name", "name", "string", allow_null=True),
                ),
            ),
        ),
        {"product": {"product_id": "", "name": ""}},
        {"product": {"product_id": "", "name": ""}},
    ),
]


@pytest.mark.parametrize(
    ("vid", "fields", "payload", "expected"), EMPTY_VALUE_VECTORS, ids=[v[0] for v in EMPTY_VALUE_VECTORS]
)
def test_empty_values_are_removed_where_the_schema_does_not_accept_them(vid, fields, payload, expected):
    assert compile_fields(fields)(payload) == expected


# --- P9-P15: the fixture schema of schema-validation.test.ts --------------------------------------

FIXTURE = (
    Field("a", "a", "string"),
    Field("b", "b", "object"),
    Field("c", "c", "object", properties=(Field("d", "d", "string"),)),
    Field("e", "e", "boolean"),
    Field("f", "f", "integer"),
    Field("g", "g", "object", properties=(Field("h", "h", "string"),), additional_properties=True),
    Field("array", "array", "string", multiple=True),
    Field(
        "object",
        "object",
        "object",
        multiple=True,
        properties=(Field("key", "key", "string", required=True),),
    ),
)

FIXTURE_VECTORS = [
    ("P9", {"nope": "not a property"}, {}),
    ("P10", {"a": "a", "b": {"anything": "goes"}, "d": "d"}, {"a": "a", "b": {"anything": "goes"}}),
    ("P11", {"a": 1234, "e": "true", "f": "123"}, {"a": "1234", "e": True, "f": 123}),
    ("P12", {"array": "value"}, {"array": ["value"]}),
    ("P13", {"object": {"key": "Value"}}, {"object": [{"key": "Value"}]}),
    (
        "P15",
        {"a": "a", "c": {"d": "d", "l": "www"}, "g": {"h": "test", "w": "test 12"}},
        {"a": "a", "c": {"d": "d"}, "g": {"h": "test", "w": "test 12"}},
    ),
]


@pytest.mark.parametrize(("vid", "payload", "expected"), FIXTURE_VECTORS, ids=[v[0] for v in FIXTURE_VECTORS])
def test_fixture_schema_coerces_and_strips_unknown_keys(vid, payload, expected):
    result = compile_fields(FIXTURE)(payload)
    assert result == expected
    assert dumps(result) == dumps(expected)  # same types (no True for 1) and key order


ERROR_VECTORS = [
    (
        "P14",
        FIXTURE,
        {"object": {"another_key": "value2"}},
        "The value at /object/0 is missing the required field 'key'.",
    ),
    (
        "P16",
        (Field("batch_size", "Batch size", "number", minimum=100, maximum=10000),),
        {"batch_size": 99},
        "Batch size must be equal to or greater than 100.",
    ),
    (
        "P17",
        (Field("limitedString", "Test Field", "string", minimum=5, maximum=10),),
        {"limitedString": "a"},
        "Test Field must be 5 characters or more but it was 1 character.",
    ),
    (
        "P18",
        (Field("a", "a", "string", required=True),),
        {},
        "The root value is missing the required field 'a'.",
    ),
    (
        "P19",
        (Field("apiSecret", "API Secret", "string", required=True),),
        {},
        "The root value is missing the required field 'apiSecret'.",
    ),
]


@pytest.mark.parametrize(
    ("vid", "fields", "payload", "message"), ERROR_VECTORS, ids=[v[0] for v in ERROR_VECTORS]
)
def test_validation_errors_use_segments_wording(vid, fields, payload, message):
    with pytest.raises(PayloadError) as info:
        compile_fields(fields)(payload)
    assert info.value.message == message


# --- MK44: coercion -------------------------------------------------------------------------------

COERCIONS = [
    ("string", 1234, "1234"),
    ("string", 1.0, "1"),
    ("string", 1e21, "1e+21"),
    ("string", 0.5, "0.5"),
    ("string", True, "true"),
    ("string", False, "false"),
    ("string", ["a"], "a"),
    ("string", [5], "5"),
    ("number", "12.5", 12.5),
    ("number", " 12 ", 12),
    ("number", "0x10", 16),
    ("number", "1e3", 1000),
    ("number", "Infinity", math.inf),
    ("number", True, 1),
    ("number", False, 0),
    ("number", [5], 5),
    ("number", ["7"], 7),
    ("integer", "7", 7),
    ("integer", 7.0, 7.0),
    ("boolean", "true", True),
    ("boolean", "false", False),
    ("boolean", 1, True),
    ("boolean", 0, False),
    ("datetime", 1648661098000, 1648661098000),
    ("datetime", -1.5, -1.5),
    ("datetime", "2022-03-30", "2022-03-30"),
    ("datetime", ["2022"], "2022"),
]


@pytest.mark.parametrize(("ftype", "value", "expected"), COERCIONS)
def test_values_are_coerced_like_ajv(ftype, value, expected):
    result = compile_fields((Field("x", "X", ftype),))({"x": value})["x"]
    assert result == expected
    assert type(result) is not bool or type(expected) is bool


COERCION_ERRORS = [
    ("string", {}, "X must be a string but it was an object."),
    ("string", ["a", "b"], "X must be a string but it was an array."),
    ("string", [{}], "X must be a string but it was an object."),  # Ajv reports the unwrapped element
    ("number", "abc", "X must be a number but it was a string."),
    ("number", "12abc", "X must be a number but it was a string."),
    ("number", {}, "X must be a number but it was an object."),
    ("number", [1, 2], "X must be a number but it was an array."),
    ("number", [""], "X must be a number but it was a string."),
    ("integer", "1.5", "X must be an integer but it was a string."),
    ("integer", 1.5, "X must be an integer but it was a number."),
    ("boolean", "yes", "X must be a boolean but it was a string."),
    ("boolean", 2, "X must be a boolean but it was a number."),
    ("object", "text", "X must be an object but it was a string."),
    ("object", [{}], "X must be an object but it was an array."),
    ("datetime", True, "X must be a valid date-like string but it was not."),
    ("datetime", "not a date", "X must be a valid date-like string but it was not."),
    ("datetime", {}, "X must be a string or number but it was an object."),
    ("datetime", [1, 2], "X must be a string or number but it was an array."),
]


@pytest.mark.parametrize(("ftype", "value", "message"), COERCION_ERRORS)
def test_uncoercible_values_fail_with_segments_message(ftype, value, message):
    with pytest.raises(PayloadError) as info:
        compile_fields((Field("x", "X", ftype),))({"x": value})
    assert info.value.message == message


def test_whitespace_only_string_is_zero_for_a_number_field():
    # Ajv: `data && data == +data` holds for "  " (+"  " is 0)
    assert compile_fields((Field("x", "X", "number"),))({"x": "  "}) == {"x": 0}


def test_multiple_field_wraps_scalars_and_coerces_items():
    validate = compile_fields((Field("x", "X", "string", multiple=True),))
    assert validate({"x": 5}) == {"x": ["5"]}
    assert validate({"x": [1, True, "a"]}) == {"x": ["1", "true", "a"]}
    with pytest.raises(PayloadError) as info:
        validate({"x": ["a", {}]})
    assert info.value.message == "The value at /x/1 must be a string but it was an object."


def test_multiple_items_drop_undefined_elements():
    assert compile_fields((Field("x", "X", "string", multiple=True),))({"x": ["a", UNDEFINED]}) == {
        "x": ["a"]
    }


def test_multiple_items_drop_nulls_but_keep_empty_strings():
    assert compile_fields((Field("x", "X", "string", multiple=True),))({"x": ["a", None, ""]}) == {
        "x": ["a", ""]
    }


# --- MK45: messages and their order ---------------------------------------------------------------


def test_required_errors_come_first_then_field_errors_in_field_order():
    fields = (
        Field("user_key", "User key", "string", required=True),
        Field("metric", "Metric Value", "number"),
        Field("previous_key", "Anonymous ID", "string", required=True),
        Field("ts", "Event timestamp", "datetime"),
    )
    with pytest.raises(PayloadError) as info:
        compile_fields(fields)({"ts": "nope", "metric": "abc"})
    assert info.value.messages == (
        "The root value is missing the required field 'user_key'.",
        "The root value is missing the required field 'previous_key'.",
        "Metric Value must be a number but it was a string.",
        "Event timestamp must be a valid date-like string but it was not.",
    )
    assert info.value.message == " ".join(info.value.messages)


def test_required_string_mapped_to_empty_or_null_reports_missing_field():
    validate = compile_fields((Field("k", "Key", "string", required=True),))
    for value in ("", None):
        with pytest.raises(PayloadError) as info:
            validate({"k": value})
        assert info.value.message == "The root value is missing the required field 'k'."


def test_missing_field_inside_a_labelled_object_names_the_object():
    fields = (Field("o", "My Obj", "object", properties=(Field("key", "Key", "string", required=True),)),)
    with pytest.raises(PayloadError) as info:
        compile_fields(fields)({"o": {}})
    assert info.value.message == "My Obj is missing the required field 'key'."


def test_nested_field_errors_use_the_nested_label():
    fields = (Field("o", "My Obj", "object", properties=(Field("n", "Count", "integer"),)),)
    with pytest.raises(PayloadError) as info:
        compile_fields(fields)({"o": {"n": "x"}})
    assert info.value.message == "Count must be an integer but it was a string."


@pytest.mark.parametrize(
    ("choices", "value", "message"),
    [
        (("a", "b", "c"), "d", 'X must be one of: "a", "b", or "c".'),
        (("a", "b"), "d", 'X must be one of: "a" or "b".'),
        (("1", "2"), 2, None),  # 2 is coerced to "2" first
        (({"label": "A", "value": "a"},), "a", None),
    ],
)
def test_choices_become_an_enum(choices, value, message):
    validate = compile_fields((Field("x", "X", "string", choices=choices),))
    if message is None:
        validate({"x": value})
    else:
        with pytest.raises(PayloadError) as info:
            validate({"x": value})
        assert info.value.message == message


def test_enum_is_checked_even_after_a_type_error():
    with pytest.raises(PayloadError) as info:
        compile_fields((Field("x", "X", "string", choices=("a",)),))({"x": {}})
    assert info.value.message == 'X must be a string but it was an object. X must be one of: "a".'


def test_limits_of_zero_are_ignored_and_maximum_messages():
    assert compile_fields((Field("n", "N", "number", minimum=0, maximum=0),))({"n": -5}) == {"n": -5}
    with pytest.raises(PayloadError) as info:
        compile_fields((Field("n", "N", "number", maximum=10000),))({"n": 10001})
    assert info.value.message == "N must be equal to or less than 10000."
    with pytest.raises(PayloadError) as info:
        compile_fields((Field("s", "S", "string", maximum=10),))({"s": "a" * 11})
    assert info.value.message == "S must be 10 characters or fewer but it was 11 characters."


def test_allow_null_adds_null_to_the_expected_types():
    with pytest.raises(PayloadError) as info:
        compile_fields((Field("x", "X", "string", allow_null=True),))({"x": {}})
    assert info.value.message == "X must be a string or null but it was an object."


def test_validation_never_mutates_the_input():
    payload = {"a": 1234, "c": {"d": "d", "l": "www"}, "array": "v", "nope": 1, "e": ""}
    before = repr(payload)
    compile_fields(FIXTURE)(payload)
    assert repr(payload) == before


def test_output_keeps_the_payload_key_order():
    result = compile_fields(FIXTURE)({"e": "true", "a": 1, "zzz": 1, "f": "2"})
    assert list(result) == ["e", "a", "f"]


# --- MK46 / LD2: settings are validated without empty-value removal -------------------------------

SETTINGS = (
    Field("client_id", "LaunchDarkly client-side ID", "string", required=True),
    Field("events_host_name", "LaunchDarkly events host name", "string", format="hostname"),
)
HOST_ERROR = "LaunchDarkly events host name must be a valid hostname string but it was not."


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, "The root value is missing the required field 'client_id'."),
        ({"client_id": ""}, None),
        ({"client_id": 123}, None),
        ({"client_id": "x", "events_host_name": "events2.launchdarkly.com"}, None),
        ({"client_id": "x", "events_host_name": "localhost"}, None),
        ({"client_id": "x", "events_host_name": "https://events.launchdarkly.com"}, HOST_ERROR),
        ({"client_id": "x", "events_host_name": "events.launchdarkly.com/path"}, HOST_ERROR),
        ({"client_id": "x", "events_host_name": "events.launchdarkly.com:443"}, HOST_ERROR),
        ({"client_id": "x", "events_host_name": ""}, HOST_ERROR),
        ({"client_id": "x", "events_host_name": "events.launchdarkly.com\n"}, HOST_ERROR),
    ],
)
def test_settings_validation(settings, expected):
    validate = compile_fields(SETTINGS, remove_empty=False)
    if expected is None:
        validate(settings)
    else:
        with pytest.raises(PayloadError) as info:
            validate(settings)
        assert info.value.message == expected


def test_numeric_client_id_is_coerced_to_a_string():
    assert compile_fields(SETTINGS, remove_empty=False)({"client_id": 123}) == {"client_id": "123"}


def test_unknown_field_type_or_format_is_a_configuration_error():
    with pytest.raises(ValueError, match="unknown type"):
        compile_fields((Field("x", "X", "date"),))
    with pytest.raises(ValueError, match="unsupported format"):
        compile_fields((Field("x", "X", "string", format="bogus"),))
