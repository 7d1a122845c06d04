"""Datetime parsing as Segment does it: dayjs (MK48, LD19-LD21) and the date-like format (MK47)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ld_segment_cli.js import UNDEFINED
from ld_segment_cli.mapping_kit.dates import (
    dayjs_ms,
    is_date_like,
    iso_text,
    js_date_parse,
    js_string_to_number,
    v8_date_parse,
)

# (value, dayjs(value).valueOf() or None when dayjs says invalid); local time is UTC.
DAYJS_VECTORS = [
    # LD21: offsets and Z give the exact instant
    ("2022-03-30T17:24:58Z", 1648661098000),
    ("2022-03-30T17:24:58.123+02:00", 1648653898123),
    ("2021-02-01T00:00:00.000Z", 1612137600000),
    # LD21 / MK48: no zone is local time (UTC here)
    ("2022-03-30", 1648598400000),
    ("2022-03-30T17:24:58", 1648661098000),
    # LD21: numbers are epoch milliseconds, fractions truncated
    (1648661098000, 1648661098000),
    (1648661098, 1648661098),
    (1.5, 1),
    # LD21 / MK48: digit strings go through dayjs's regex as year/month/day digits
    ("1648661098000", -9989301600000),
    ("1648661098", -9989301600000),
    # MK47 valid examples, through MK48's two parsers
    ("2022-03", 1646092800000),
    ("2022", 1640995200000),
    ("20220330", 1648598400000),
    ("2022/03/30", 1648598400000),
    ("2022-03-30 17:24:58", 1648661098000),
    ("March 30, 2022", 1648598400000),
    ("Wed, 30 Mar 2022 17:24:58 GMT", 1648661098000),
    ("Wed, 30 Mar 2022 17:24:58 +0000", 1648661098000),
    ("2022-13-45", 1676332800000),  # rolled over to 2023-02-14
    # MK47 invalid examples
    ("abc", None),
    ("T", None),
    ("", None),
    ("1e3", None),
    ("2022-03-30T25:00:00Z", None),
    ("true", None),
    # MK48: null is invalid
    (None, None),
    # LD20: a canonical number string that dayjs cannot read
    ("-99999999999", None),
]


@pytest.mark.parametrize(("value", "expected"), DAYJS_VECTORS, ids=[repr(v[0]) for v in DAYJS_VECTORS])
def test_dayjs_reads_values_like_segment(value, expected):
    assert dayjs_ms(value) == expected


DATE_LIKE_VALID = [
    "2022-03-30T17:24:58Z",
    "2022-03-30T17:24:58.123+02:00",
    "2022-03-30T17:24:58",
    "2022-03-30",
    "2022-03",
    "2022",
    "20220330",
    "2022/03/30",
    "2022-03-30 17:24:58",
    "March 30, 2022",
    "Wed, 30 Mar 2022 17:24:58 GMT",
    "2022-13-45",
    "0",
    "-1",
    "12",
    "1648661098",
    "1648661098000",
    "-99999999999",
]
DATE_LIKE_INVALID = ["abc", "T", "", "1e3", "2022-03-30T25:00:00Z", "true", "NaN", "Infinity", "007x"]


@pytest.mark.parametrize("value", DATE_LIKE_VALID)
def test_date_like_accepts(value):
    assert is_date_like(value)


@pytest.mark.parametrize("value", DATE_LIKE_INVALID)
def test_date_like_rejects(value):
    assert not is_date_like(value)


def test_canonical_number_strings_are_unix_seconds_and_out_of_range_ones_fail():
    assert is_date_like("8640000000000")  # exactly the maximum date in seconds
    assert not is_date_like("8640000000001")


def test_non_canonical_number_strings_fall_through_to_dayjs():
    # "007" is not String(Number("007")); dayjs's regex needs 4 digits, V8 reads July 1st, 2001
    assert is_date_like("007")
    assert dayjs_ms("007") == 993945600000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-03-30T17:24:58.1234567890123Z", 1648661098123),  # more than 9 fraction digits
        ("2022-03-30T24:00:00Z", 1648684800000),  # 24:00 is the end of the day
        ("2022-03-30T17:24:58+0200", 1648653898000),  # hhmm offset extension
        ("2022-03-30T17:24Z", 1648661040000),  # seconds optional
        ("2022-02-31T00:00:00Z", 1646265600000),  # ES5 only checks 1-31; rolls to March 3rd
        ("+002022-03-30T00:00:00Z", 1648598400000),  # expanded years
        ("-000000-01-01T00:00:00Z", None),  # year -0 is invalid
        ("2022-03-30 17:24:58Z", 1648661098000),  # not ES5 (space): legacy parser
        ("Tue Mar 29 2022 10:00:00 GMT-0700 (Pacific Daylight Time)", 1648573200000),  # Date.toString()
        ("30 March 2022 5:00 pm EST", 1648677600000),
        ("March 30", 985910400000),  # V8 defaults the year to 2001
        ("3/30/2022", 1648598400000),
        ("2022-03-30T17:24:58.123z", 1648661098123),  # lower-case z
        ("2022-03-30T17:24:58Zjunk", None),
        ("2022-03-30T17:24:58+02:60", None),  # V8 refuses minute 60 in an offset
        ("2022-03-30T17:24:58+24:00", None),
        ("2022-03-30T17:60:00Z", None),
        ("0000-01-01T00:00:00Z", -62167219200000),  # year 0 is fine for V8
    ],
)
def test_js_date_parser_matches_v8(text, expected):
    assert js_date_parse(text) == expected


def test_dayjs_fraction_is_read_as_milliseconds_digits_not_a_decimal():
    # dayjs takes the first three fraction digits as a number: ".5" is 5 ms (a dayjs quirk)
    assert dayjs_ms("2022-03-30T17:24:58.5") == 1648661098005


def test_dayjs_maps_two_digit_years_like_the_date_constructor():
    assert dayjs_ms("0050-01-01") == dayjs_ms("1950-01-01")


def test_dayjs_undefined_is_left_to_the_caller():
    assert dayjs_ms(UNDEFINED) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12.0),
        (" 12 ", 12.0),
        ("0x10", 16.0),
        ("1e3", 1000.0),
        ("", 0.0),
        ("12abc", None),
        ("1_000", None),
        ("inf", None),
        ("-Infinity", float("-inf")),
        (".5", 0.5),
        ("5.", 5.0),
        ("-0x10", None),
    ],
)
def test_js_string_to_number(text, expected):
    n = js_string_to_number(text)
    if expected is None:
        assert n != n
    else:
        assert n == expected


def test_iso_text_formats_extreme_years_like_to_iso_string():
    assert iso_text(-9989301600000) == "1653-06-14T02:00:00.000Z"
    assert iso_text(0) == "1970-01-01T00:00:00.000Z"
    assert iso_text(8640000000000000) == "+275760-09-13T00:00:00.000Z"


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"\A\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-6]\d(:[0-6]\d(\.\d{3})?)?(Z|[+-][0-2]\d:[0-6]\d)\Z"))
def test_dayjs_shortcut_for_iso_strings_agrees_with_the_full_parser(text):
    """dayjs_ms reads canonical ISO strings with datetime; dayjs hands them (zoned) to Date.parse."""
    assert dayjs_ms(text) == v8_date_parse(text)
