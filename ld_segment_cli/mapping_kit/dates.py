"""Datetime values as Segment reads them: dayjs 1.11 parsing (mapping-kit.md MK48) on top of a port of
V8's `Date` string parser, and Segment's `date-like` format check (MK47).

The process "local time zone" of the original is taken to be UTC (MK48, LD21). Limits of the port:
strings are handled as Unicode code points where V8 sees UTF-16 code units (only the length of words
made of astral characters differs, which never changes a result), and Python ints beyond 2**53 are
not rounded to doubles before use (the result is the same: such a number is far outside the dates
a time value can hold).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ..js import number_to_string, to_string

MAX_TIME_MS: Final = 8_640_000_000_000_000  # ECMAScript TimeClip: |t| <= 8.64e15 ms
MS_PER_DAY: Final = 86_400_000

# JavaScript's WhiteSpace and LineTerminator sets (`\s` in a regex, String.prototype.trim, Number()).
_JS_SPACE: Final = "\t\v\f \xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000\ufeff"
_JS_LINE_END: Final = "\n\r\u2028\u2029"
_JS_WS: Final = _JS_SPACE + _JS_LINE_END

# dayjs's REGEX_PARSE; `\d` must stay ASCII and `$` must not match before a trailing newline.
_DAYJS_RE: Final = re.compile(
    r"(\d{4})[-/]?(\d{1,2})?[-/]?(\d{0,2})[Tt" + _JS_WS + r"]*"
    r"(\d{1,2})?:?(\d{1,2})?:?(\d{1,2})?[.:]?(\d+)?\Z",
    re.ASCII,
)
# The ES5 date-time shapes almost every export uses. On these, datetime.fromisoformat agrees with V8 whenever
# it accepts the text (it refuses what V8 rolls over or rejects: day 31 of a short month, hour 24, year 0...;
# offsets it would take but V8 refuses, such as +02:60, are kept out by the pattern),
# and everything it refuses goes to the full port. Public, with EPOCH and ONE_MS, for generated code that reads
# these shapes in place: `(datetime.fromisoformat(text) - EPOCH) // ONE_MS` unless it raises ValueError.
FAST_ISO_RE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{3})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)\Z", re.ASCII
)
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS: Final = timedelta(milliseconds=1)
_JS_DECIMAL_RE: Final = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\Z")
_JS_NONDECIMAL_RE: Final = re.compile(r"0(?:[xX]([0-9a-fA-F]+)|[oO]([0-7]+)|[bB]([01]+))\Z")


def js_string_to_number(text: str) -> float:
    """JavaScript Number(text): trims JS whitespace; "" is 0; hex/octal/binary literals; NaN when invalid."""
    t = text.strip(_JS_WS)
    if not t:
        return 0.0
    if _JS_DECIMAL_RE.match(t):
        if t[-1] == "y":  # Infinity
            return -math.inf if t[0] == "-" else math.inf
        return float(t)
    m = _JS_NONDECIMAL_RE.match(t)
    if m:
        hexa, octal, binary = m.groups()
        return float(int(hexa, 16) if hexa else int(octal, 8) if octal else int(binary, 2))
    return math.nan


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day may overflow)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def civil_from_ms(ms: int) -> tuple[int, int, int, int, int, int, int]:
    """(year, month 1-12, day, hour, minute, second, millisecond) of an epoch-milliseconds instant (UTC)."""
    days, rest = divmod(ms, MS_PER_DAY)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    hour, rest = divmod(rest, 3_600_000)
    minute, rest = divmod(rest, 60_000)
    second, milli = divmod(rest, 1000)
    return year, month, day, hour, minute, second, milli


def iso_text(ms: int) -> str:
    """Date.prototype.toISOString() of a valid time value (6-digit signed years outside 0000-9999)."""
    y, mo, d, h, mi, s, milli = civil_from_ms(ms)
    year = f"{y:04d}" if 0 <= y <= 9999 else f"{'+' if y > 0 else '-'}{abs(y):06d}"
    return f"{year}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{milli:03d}Z"


def _make_date(year: int, month0: int, day: int, hour: int, minute: int, second: int, ms: int) -> int | None:
    """MakeDate(MakeDay(...), MakeTime(...)) followed by TimeClip; None for an invalid date."""
    y = year + month0 // 12
    days = days_from_civil(y, month0 % 12 + 1, 1) + day - 1
    t = days * MS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms
    return t if -MAX_TIME_MS <= t <= MAX_TIME_MS else None


def _time_clip(value: float) -> int | None:
    if value != value or value in (math.inf, -math.inf) or abs(value) > MAX_TIME_MS:
        return None
    return int(value)  # ToIntegerOrInfinity truncates toward zero


def dayjs_ms(value: Any) -> int | None:
    """dayjs(value).valueOf() for a defined value, or None when dayjs calls the date invalid.

    `null` is invalid; numbers are epoch milliseconds (fractions truncated); strings not ending in Z/z
    that match dayjs's REGEX_PARSE are built from its parts in local time (UTC here), with dayjs's own
    quirks (a fraction "5" is 5 ms, years 0-99 become 1900-1999, parts roll over); every other string
    goes to the JavaScript Date parser. `undefined` (dayjs: now) is the caller's business: None.
    """
    t = type(value)
    if t is str:
        if FAST_ISO_RE.match(value) is not None:  # what exports hold; dayjs hands these to Date.parse
            return _iso_ms(value)
        last = _last_string[0]  # the format check and creationDate read the same timestamp in a row
        if last[0] == value:
            return last[1]
        ms = _dayjs_string(value)
        _last_string[0] = (value, ms)
        return ms
    if t is int or t is float:
        return _time_clip(value)
    if t is bool:
        return int(value)
    if t is list:  # new Date([..]) parses the array's String() form
        return js_date_parse(to_string(value))
    return None  # null, undefined, objects ("[object Object]" is not a date)


_last_string: list[tuple[str, int | None]] = [("", None)]  # one-entry memo of a pure function


def _dayjs_string(value: str) -> int | None:
    """dayjs(text): its REGEX_PARSE read in local time (UTC), else the JavaScript Date parser."""
    if value[-1:] in ("Z", "z"):
        return js_date_parse(value)
    m = _DAYJS_RE.match(value)
    if m is None:
        return js_date_parse(value)
    year, month, day, hour, minute, second, frac = m.groups()
    y = int(year)
    if y <= 99:  # new Date(y, ...) maps years 0-99 to 1900-1999
        y += 1900
    return _make_date(
        y,
        int(month) - 1 if month else 0,
        int(day) if day else 1,  # `d[3] || 1`: "" and undefined give 1, "0" gives day 0
        int(hour) if hour else 0,
        int(minute) if minute else 0,
        int(second) if second else 0,
        int(frac[:3]) if frac else 0,
    )


def is_date_like(value: str) -> bool:
    """Segment's `date-like` format: a canonical number string is Unix seconds, anything else must parse."""
    if value[:1] in _NUMERIC_START and ":" not in value:
        n = js_string_to_number(value)
        if number_to_string(n) == value:
            return _time_clip(n * 1000) is not None
    return dayjs_ms(value) is not None


_NUMERIC_START: Final = frozenset("-0123456789IN")


# ---------------------------------------------------------------------------------------------------------
# Port of V8's DateParser (src/date/dateparser*.{h,cc}): ES5 ISO strings first, then the legacy parser.

_NUM, _SYM, _WORD, _SPACE, _UNKNOWN, _END = range(6)
_INVALID_KW, _MONTH, _ZONE, _TSEP, _AMPM = range(5)
_MONTH_NAMES: Final = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS: Final = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_SHORT_WORDS: Final = {
    "am": (_AMPM, 0), "pm": (_AMPM, 12), "ut": (_ZONE, 0), "utc": (_ZONE, 0), "z": (_ZONE, 0),
    "gmt": (_ZONE, 0), "cdt": (_ZONE, -5), "cst": (_ZONE, -6), "edt": (_ZONE, -4), "est": (_ZONE, -5),
    "mdt": (_ZONE, -6), "mst": (_ZONE, -7), "pdt": (_ZONE, -7), "pst": (_ZONE, -8), "t": (_TSEP, 0),
}  # fmt: skip
_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_V8_SPACE: Final = frozenset(_JS_SPACE)  # IsWhiteSpace: ends a word
_V8_SPACE_OR_LINE_END: Final = frozenset(_JS_WS)  # IsWhiteSpaceOrLineTerminator: a whitespace token
_INT_MAX: Final = 2**31 - 1

# A token is (kind, value, length); for words value is (keyword type, keyword value).
_Token = tuple[int, Any, int]
_END_TOKEN: Final = (_END, -1, 0)
_INVALID_TOKEN: Final = (-1, -1, 0)


def _tokenize(s: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if "0" <= c <= "9":
            j = i
            while j < n and "0" <= s[j] <= "9":
                j += 1
            significant = s[i:j].lstrip("0")[:9]  # V8 keeps 9 significant digits and skips the rest
            tokens.append((_NUM, int(significant) if significant else 0, j - i))
            i = j
        elif c in ":-+.)":
            tokens.append((_SYM, c, 1))
            i += 1
        elif c >= "A" and c not in _V8_SPACE:
            j = i
            while j < n and s[j] >= "A" and s[j] not in _V8_SPACE:
                j += 1
            word = s[i:j]
            prefix = word[:3].translate(_ASCII_LOWER)
            if len(prefix) == 3 and prefix in _MONTHS:
                kw = (_MONTH, _MONTHS[prefix])
            elif len(word) <= 3 and prefix in _SHORT_WORDS:
                kw = _SHORT_WORDS[prefix]
            else:
                kw = (_INVALID_KW, 0)
            tokens.append((_WORD, kw, j - i))
            i = j
        elif c in _V8_SPACE_OR_LINE_END:
            tokens.append((_SPACE, -1, 1))
            i += 1
        elif c == "(":
            balance = 0
            while True:  # skip to the matching ')' or the end
                if s[i] == ")":
                    balance -= 1
                elif s[i] == "(":
                    balance += 1
                i += 1
                if balance <= 0 or i >= n:
                    break
            tokens.append((_UNKNOWN, -1, 1))
        else:
            tokens.append((_UNKNOWN, -1, 1))
            i += 1
    tokens.append(_END_TOKEN)
    return tokens


class _Scanner:
    __slots__ = ("i", "tokens")

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def next(self) -> _Token:
        tok = self.tokens[self.i]
        if tok[0] != _END:
            self.i += 1
        return tok

    def skip_symbol(self, symbol: str) -> bool:
        tok = self.tokens[self.i]
        if tok[0] == _SYM and tok[1] == symbol:
            self.i += 1
            return True
        return False


def _is_number(tok: _Token, length: int | None = None) -> bool:
    return tok[0] == _NUM and (length is None or tok[2] == length)


def _is_sign(tok: _Token) -> bool:
    return tok[0] == _SYM and tok[1] in "+-"


def _is_keyword_z(tok: _Token) -> bool:
    return tok[0] == _WORD and tok[1] == (_ZONE, 0) and tok[2] == 1


def _read_milliseconds(tok: _Token) -> int:
    number, length = tok[1], tok[2]
    if length == 1:
        return number * 100
    if length == 2:
        return number * 10
    if length > 3:
        length = min(length, 9)
        return number // 10 ** (length - 3)
    return number


class _Parts:
    """V8's DayComposer, TimeComposer and TimeZoneComposer state."""

    __slots__ = ("day", "hour_offset", "iso", "named_month", "time", "tz_hour", "tz_minute", "tz_sign")

    def __init__(self) -> None:
        self.day: list[int] = []
        self.named_month: int | None = None
        self.iso = False
        self.time: list[int] = []
        self.hour_offset: int | None = None
        self.tz_sign: int | None = None
        self.tz_hour: int | None = None
        self.tz_minute: int | None = None

    def day_add(self, n: int) -> bool:
        if len(self.day) < 3:
            self.day.append(n)
            return True
        return False

    def time_add(self, n: int) -> bool:
        if len(self.time) < 4:
            self.time.append(n)
            return True
        return False

    def time_add_final(self, n: int) -> bool:
        if not self.time_add(n):
            return False
        self.time.extend([0] * (4 - len(self.time)))
        return True

    def time_expecting(self, n: int) -> bool:
        k = len(self.time)
        return (k == 1 and 0 <= n <= 59) or (k == 2 and 0 <= n <= 59) or (k == 3 and 0 <= n <= 999)

    def tz_set(self, offset_hours: int) -> None:
        self.tz_sign = -1 if offset_hours < 0 else 1
        self.tz_hour = abs(offset_hours)
        self.tz_minute = 0

    def tz_expecting(self, n: int) -> bool:
        return self.tz_hour is not None and self.tz_minute is None and 0 <= n <= 59

    def tz_is_utc(self) -> bool:
        return self.tz_hour == 0 and self.tz_minute == 0

    def write(self) -> int | None:
        if not self.day:
            return None
        comp = self.day + [1] * (3 - len(self.day))
        year, month, day = 0, None, None
        if self.named_month is None:
            if self.iso or not 1 <= comp[0] <= 31:
                year, month, day = comp
            else:
                month, day, year = comp
        else:
            month = self.named_month
            if not 1 <= comp[0] <= 31:
                year, day = comp[0], comp[1]
            else:
                day, year = comp[0], comp[1]
        if not self.iso:
            if 0 <= year <= 49:
                year += 2000
            elif 50 <= year <= 99:
                year += 1900
        if not -(2**30) <= year < 2**30 or not 1 <= month <= 12 or not 1 <= day <= 31:
            return None
        hour, minute, second, milli = self.time + [0] * (4 - len(self.time))
        if self.hour_offset is not None:
            if not 0 <= hour <= 12:
                return None
            hour = hour % 12 + self.hour_offset
        if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59 and 0 <= milli <= 999) and (
            hour != 24 or minute or second or milli
        ):
            return None
        offset = None
        if self.tz_sign is not None:
            # C++ unsigned arithmetic, then a range check
            total = ((self.tz_hour or 0) * 3600 + (self.tz_minute or 0) * 60) % 2**32
            if total > _INT_MAX:
                return None
            offset = -total if self.tz_sign < 0 else total
        t = _make_date(year, month - 1, day, hour, minute, second, milli)
        if t is None or offset is None:  # no zone: local time, which is UTC here
            return t
        t -= offset * 1000
        return t if -MAX_TIME_MS <= t <= MAX_TIME_MS else None


def _parse_es5(sc: _Scanner, p: _Parts) -> _Token:
    """ParseES5DateTime: the token to continue with in the legacy parser, _END_TOKEN when done."""
    tok = sc.peek()
    if _is_sign(tok):
        sign_token = sc.next()
        if not _is_number(sc.peek(), 6):
            return sign_token
        year = sc.next()[1]
        if sign_token[1] == "-" and year == 0:
            return sign_token
        p.day_add(-year if sign_token[1] == "-" else year)
    elif _is_number(tok, 4):
        p.day_add(sc.next()[1])
    else:
        return sc.next()
    if sc.skip_symbol("-"):
        tok = sc.peek()
        if not _is_number(tok, 2) or not 1 <= tok[1] <= 12:
            return sc.next()
        p.day_add(sc.next()[1])
        if sc.skip_symbol("-"):
            tok = sc.peek()
            if not _is_number(tok, 2) or not 1 <= tok[1] <= 31:
                return sc.next()
            p.day_add(sc.next()[1])
    tok = sc.peek()
    if not (tok[0] == _WORD and tok[1][0] == _TSEP):
        if tok[0] != _END:
            return sc.next()
    else:
        sc.next()
        tok = sc.peek()
        if not _is_number(tok, 2) or not 0 <= tok[1] <= 24:
            return _INVALID_TOKEN
        hour_is_24 = tok[1] == 24
        p.time_add(sc.next()[1])
        if not sc.skip_symbol(":"):
            return _INVALID_TOKEN
        tok = sc.peek()
        if not _is_number(tok, 2) or not 0 <= tok[1] <= 59 or (hour_is_24 and tok[1] > 0):
            return _INVALID_TOKEN
        p.time_add(sc.next()[1])
        if sc.skip_symbol(":"):
            tok = sc.peek()
            if not _is_number(tok, 2) or not 0 <= tok[1] <= 59 or (hour_is_24 and tok[1] > 0):
                return _INVALID_TOKEN
            p.time_add(sc.next()[1])
            if sc.skip_symbol("."):
                tok = sc.peek()
                if not _is_number(tok) or (hour_is_24 and tok[1] > 0):
                    return _INVALID_TOKEN
                p.time_add(_read_milliseconds(sc.next()))
        tok = sc.peek()
        if _is_keyword_z(tok):
            sc.next()
            p.tz_set(0)
        elif _is_sign(tok):
            p.tz_sign = 1 if sc.next()[1] == "+" else -1
            tok = sc.peek()
            if _is_number(tok, 4):
                hour, minute = divmod(sc.next()[1], 100)
                if not (0 <= hour <= 23 and 0 <= minute <= 59):
                    return _INVALID_TOKEN
                p.tz_hour, p.tz_minute = hour, minute
            else:
                if not _is_number(tok, 2) or not 0 <= tok[1] <= 23:
                    return _INVALID_TOKEN
                p.tz_hour = sc.next()[1]
                if not sc.skip_symbol(":"):
                    return _INVALID_TOKEN
                tok = sc.peek()
                if not _is_number(tok, 2) or not 0 <= tok[1] <= 59:
                    return _INVALID_TOKEN
                p.tz_minute = sc.next()[1]
        if sc.peek()[0] != _END:
            return _INVALID_TOKEN
    if p.tz_hour is None and not p.time:
        p.tz_set(0)  # date-only ES5 forms are UTC
    p.iso = True
    return _END_TOKEN


def _parse_legacy(sc: _Scanner, p: _Parts, token: _Token) -> bool:
    has_read_number = bool(p.day)
    while token[0] != _END:
        kind = token[0]
        if kind == _NUM:
            has_read_number = True
            n = token[1]
            if sc.skip_symbol(":"):
                if sc.skip_symbol(":"):
                    if p.time:
                        return False
                    p.time_add(n)
                    p.time_add(0)
                else:
                    if not p.time_add(n):
                        return False
                    if sc.peek()[:2] == (_SYM, "."):
                        sc.next()
            elif sc.skip_symbol(".") and p.time_expecting(n):
                p.time_add(n)
                if not _is_number(sc.peek()):
                    return False
                p.time_add_final(_read_milliseconds(sc.next()))
            elif p.tz_expecting(n):
                p.tz_minute = n
            elif p.time_expecting(n):
                p.time_add_final(n)
                peek = sc.peek()
                if peek[0] not in (_END, _SPACE) and not _is_keyword_z(peek) and not _is_sign(peek):
                    return False
            else:
                if not p.day_add(n):
                    return False
                sc.skip_symbol("-")
        elif kind == _WORD:
            kw_type, kw_value = token[1]
            if kw_type == _AMPM and p.time:
                p.hour_offset = kw_value
            elif kw_type == _MONTH:
                p.named_month = kw_value
                sc.skip_symbol("-")
            elif kw_type == _ZONE and has_read_number:
                p.tz_set(kw_value)
            else:
                if has_read_number:  # garbage words are illegal once a number has been read
                    return False
                if _is_number(sc.peek()):
                    return False
        elif _is_sign(token) and (p.tz_is_utc() or p.time):
            p.tz_sign = 1 if token[1] == "+" else -1
            n, length = 0, 0
            if _is_number(sc.peek()):
                nxt = sc.next()
                n, length = nxt[1], nxt[2]
            has_read_number = True
            if sc.peek()[:2] == (_SYM, ":"):
                p.tz_hour, p.tz_minute = n, None
            elif length in (1, 2):
                p.tz_hour, p.tz_minute = n, 0
            elif length in (3, 4):
                p.tz_hour, p.tz_minute = divmod(n, 100)
            else:
                return False
        elif (_is_sign(token) or token[:2] == (_SYM, ")")) and has_read_number:
            return False
        token = sc.next()
    return True


def js_date_parse(text: str) -> int | None:
    """Date.parse(text) as V8 (Node 20) computes it, local time being UTC; None for NaN."""
    if FAST_ISO_RE.match(text) is not None:
        return _iso_ms(text)
    return v8_date_parse(text)


def _iso_ms(text: str) -> int | None:
    """Date.parse of a string FAST_ISO_RE matched: datetime reads it, unless a part is out of range."""
    try:
        return (datetime.fromisoformat(text) - EPOCH) // ONE_MS
    except ValueError:
        return v8_date_parse(text)  # out-of-range parts: V8 decides


def v8_date_parse(text: str) -> int | None:
    """The port of V8's parser itself, without the shortcut for canonical ISO strings (tests compare them)."""
    nul = text.find("\0")  # V8's reader treats NUL as the end of the input
    if nul >= 0:
        text = text[:nul]
    sc = _Scanner(_tokenize(text))
    parts = _Parts()
    token = _parse_es5(sc, parts)
    if token is _INVALID_TOKEN:
        return None
    if not _parse_legacy(sc, parts, token):
        return None
    return parts.write()
