"""@date: JavaScript Date functions over epoch milliseconds.

JSON has no Date type, so a date is its epoch milliseconds (an int): every
function that returns a date returns epoch milliseconds, not a Date. Inputs
may be epoch milliseconds, a numeric string, ``YYYY-MM-DD`` (UTC midnight, as
in JavaScript), any ISO-8601 date-time (with ``Z``, an offset, fractional
seconds, or no zone: local time, as in JavaScript), or any other form
JavaScript's ``Date.parse`` reads (RFC 2822, ``toUTCString()`` and
``toString()`` output, ``Jan 31 2024``, ``1/31/2024, 11:59 PM``…; see
``hotmesh.expr.datetext``). Upstream mis-parses ISO strings with offsets and
refuses the other forms outside ``parse``/``fromISOString``; we read them all. Local-time functions use
the process's time zone (``TZ``). Years outside 1–9999 (JavaScript allows
±275760) are invalid dates: getters and setters give NaN, formatters raise.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import re
import time
from collections.abc import Callable
from typing import Any

from hotmesh import errors
from hotmesh.expr import datetext
from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED, is_number, to_number, to_string

UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMERIC = re.compile(r"^\s*[+-]?\d+(\.\d+)?\s*$")
_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
_MONTHS = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
]
_YEARS = "Years outside 1–9999 are invalid dates here (JavaScript's reach ±275,760)."
_INPUT_NOTE = (
    "A date string is read whole, in any form JavaScript's `Date.parse` reads (ISO with "
    "offsets, RFC 2822, `toUTCString()` output…), or refused. Upstream reads only "
    "`YYYY-MM-DD[THH:MM:SS[.mmm]Z]` that way and any other string by `parseInt`, as "
    "epoch ms (`'2024-01-31T10:00+02:00'` is 2024 ms there). An undefined date is an "
    "invalid date here (getters and setters give NaN, formatters fail); upstream throws. "
    f"{_YEARS}"
)
_MS = "Returns epoch milliseconds (a number), never a Date object."
_RETURNS_MS = (
    f"{_MS} Upstream returns a Date object here; JSON has no Date type, so a job "
    f"stores a date as its epoch milliseconds. {_YEARS}"
)
_SETS_MS = f"{_MS} As upstream, whose setters return the new time value. {_INPUT_NOTE}"


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def parse_date(value: Any, name: str) -> float | int:
    """Epoch ms of a date input; NaN for undefined; EvaluationError when unreadable."""
    if value is UNDEFINED:
        return math.nan
    if is_number(value):
        return math.trunc(value) if math.isfinite(value) else math.nan
    if isinstance(value, str):
        if _NUMERIC.match(value):  # epoch milliseconds, as upstream reads them
            return math.trunc(float(value))
        parsed = datetext.parse(value)  # as JavaScript's Date.parse
        if parsed is not None:
            return parsed
    raise errors.EvaluationError(
        f"@date.{name}: Invalid date format: {to_string(value)!r}"
    )


def _to_ms(moment: dt.datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _moment(ms: float | int, local: bool) -> dt.datetime | None:
    if isinstance(ms, float) and not math.isfinite(ms):
        return None
    try:
        moment = _EPOCH + dt.timedelta(milliseconds=ms)
    except OverflowError:
        return None
    return moment.astimezone() if local else moment


def _required(value: Any, name: str, local: bool) -> dt.datetime:
    moment = _moment(parse_date(value, name), local)
    if moment is None:
        raise errors.EvaluationError(f"@date.{name}: Invalid time value")
    return moment


@register(
    "date.now",
    (0, 0),
    "Current time in epoch milliseconds.",
    note=f"{_MS} As upstream.",
    pure=False,
)
def now() -> int:
    return now_ms()


@register("date.yyyymmdd", (0, 0), "Today's UTC date as `YYYY-MM-DD`.", pure=False)
def yyyymmdd() -> str:
    return dt.datetime.now(UTC).strftime("%Y-%m-%d")


@register(
    "date.fromISOString",
    (1, 1),
    "The date of a date string, as `new Date(s)` reads it (ISO, RFC 2822, "
    "`toUTCString()`…); an invalid date (NaN, stored as null) when it cannot be read.",
    note=_RETURNS_MS,
)
def from_iso_string(s: Any = UNDEFINED) -> Any:
    # new Date(s): a number is epoch ms, null is 0, anything else is parsed
    # as a string; what cannot be read is an Invalid Date (NaN; JSON: null).
    if is_number(s):
        return math.trunc(s) if math.isfinite(s) else math.nan
    if s is None or isinstance(s, bool):
        return int(bool(s))
    if s is UNDEFINED:
        return math.nan
    parsed = datetext.parse(to_string(s))
    return math.nan if parsed is None else parsed


@register(
    "date.parse",
    (1, 1),
    "Epoch milliseconds of a date string as `Date.parse` reads it (ISO, RFC 2822, "
    "`toUTCString()`…), or NaN.",
    note=f"{_MS} As upstream. {_YEARS}",
)
def parse(s: Any = UNDEFINED) -> Any:
    parsed = datetext.parse(to_string(s))
    return math.nan if parsed is None else parsed


@register(
    "date.toISOXString",
    (0, 1),
    "Compact UTC timestamp `YYYYMMDDHHMMSS.mmm` (of now when no date).",
    note="A date of `0` is 1970-01-01 here; upstream formats now for any falsy date "
    f"(`0`, `null`, `''`). {_INPUT_NOTE}",
    pure=False,
)
def to_isox_string(d: Any = UNDEFINED) -> str:
    moment = _required(now_ms() if d is UNDEFINED else d, "toISOXString", local=False)
    return moment.strftime("%Y%m%d%H%M%S") + f".{moment.microsecond // 1000:03d}"


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


@register(
    "date.toISOString",
    (1, 1),
    "ISO-8601 UTC string `2024-01-31T23:59:59.123Z`.",
    note=_INPUT_NOTE,
)
def to_iso_string(d: Any = UNDEFINED) -> str:
    return _iso(_required(d, "toISOString", local=False))


@register("date.toJSON", (1, 1), "Same as toISOString.", note=_INPUT_NOTE)
def to_json(d: Any = UNDEFINED) -> str:
    return _iso(_required(d, "toJSON", local=False))


def _date_string(moment: dt.datetime) -> str:
    return f"{_DAYS[(moment.weekday() + 1) % 7]} {_MONTHS[moment.month - 1]} {moment.day:02d} {moment.year:04d}"


@register(
    "date.toDateString", (1, 1), "Local date like `Wed Jan 31 2024`.", note=_INPUT_NOTE
)
def to_date_string(d: Any = UNDEFINED) -> str:
    return _date_string(_required(d, "toDateString", local=True))


@register(
    "date.toString",
    (1, 1),
    "Local date and time like `Wed Jan 31 2024 23:59:59 GMT+0000 (UTC)`.",
    note="The zone name in parentheses is the short one (`EST`); JavaScript "
    "prints the long one (`Eastern Standard Time`). " + _INPUT_NOTE,
)
def to_string_(d: Any = UNDEFINED) -> str:
    moment = _required(d, "toString", local=True)
    offset = moment.strftime("%z") or "+0000"
    return f"{_date_string(moment)} {moment.strftime('%H:%M:%S')} GMT{offset} ({moment.tzname()})"


def _clock(moment: dt.datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d}:{moment.second:02d} {'AM' if moment.hour < 12 else 'PM'}"


_LOCALE_NOTE = "Formats en-US for every locale; `options` are ignored. " + _INPUT_NOTE


@register(
    "date.toLocaleString",
    (1, 3),
    "Local date and time like `1/31/2024, 11:59:59 PM`.",
    note=_LOCALE_NOTE,
)
def to_locale_string(
    d: Any = UNDEFINED, locales: Any = UNDEFINED, options: Any = UNDEFINED
) -> str:
    moment = _required(d, "toLocaleString", local=True)
    return f"{moment.month}/{moment.day}/{moment.year}, {_clock(moment)}"


@register(
    "date.toLocaleDateString", (1, 3), "Local date like `1/31/2024`.", note=_LOCALE_NOTE
)
def to_locale_date_string(
    d: Any = UNDEFINED, locales: Any = UNDEFINED, options: Any = UNDEFINED
) -> str:
    moment = _required(d, "toLocaleDateString", local=True)
    return f"{moment.month}/{moment.day}/{moment.year}"


@register(
    "date.toLocaleTimeString",
    (1, 3),
    "Local time like `11:59:59 PM`.",
    note=_LOCALE_NOTE,
)
def to_locale_time_string(
    d: Any = UNDEFINED, locales: Any = UNDEFINED, options: Any = UNDEFINED
) -> str:
    return _clock(_required(d, "toLocaleTimeString", local=True))


_GETTERS: dict[str, tuple[Callable[[dt.datetime], int], str]] = {
    "Date": (lambda m: m.day, "Day of the month (1–31)"),
    "Day": (lambda m: (m.weekday() + 1) % 7, "Day of the week (0 = Sunday)"),
    "FullYear": (lambda m: m.year, "Four-digit year"),
    "Hours": (lambda m: m.hour, "Hour (0–23)"),
    "Milliseconds": (lambda m: m.microsecond // 1000, "Milliseconds (0–999)"),
    "Minutes": (lambda m: m.minute, "Minutes (0–59)"),
    "Month": (lambda m: m.month - 1, "Month (0 = January)"),
    "Seconds": (lambda m: m.second, "Seconds (0–59)"),
}


def _getter(
    name: str, field: Callable[[dt.datetime], int], local: bool
) -> Callable[..., Any]:
    def get(d: Any = UNDEFINED) -> Any:
        moment = _moment(parse_date(d, name), local)
        return math.nan if moment is None else field(moment)

    return get


for _field, (_fn, _doc) in _GETTERS.items():
    register(f"date.get{_field}", (1, 1), f"{_doc}, local time.", note=_INPUT_NOTE)(
        _getter(f"get{_field}", _fn, True)
    )
    register(f"date.getUTC{_field}", (1, 1), f"{_doc}, UTC.", note=_INPUT_NOTE)(
        _getter(f"getUTC{_field}", _fn, False)
    )


@register("date.getTime", (1, 1), "Epoch milliseconds.", note=_INPUT_NOTE)
def get_time(d: Any = UNDEFINED) -> Any:
    return parse_date(d, "getTime")


@register("date.valueOf", (1, 1), "Epoch milliseconds.", note=_INPUT_NOTE)
def value_of(d: Any = UNDEFINED) -> Any:
    return parse_date(d, "valueOf")


@register(
    "date.getTimezoneOffset",
    (1, 1),
    "Minutes from local time to UTC (positive west of Greenwich).",
    note=_INPUT_NOTE,
)
def get_timezone_offset(d: Any = UNDEFINED) -> Any:
    moment = _moment(parse_date(d, "getTimezoneOffset"), True)
    if moment is None:
        return math.nan
    offset = moment.utcoffset() or dt.timedelta(0)
    return -int(offset.total_seconds() // 60)


# ---------------------------------------------------------------------------
# Setters: rebuild the date from its fields, letting values overflow as JS does.

_FIELDS = ("year", "month", "day", "hour", "minute", "second", "ms")


def _fields(moment: dt.datetime) -> dict[str, float | int]:
    return {
        "year": moment.year,
        "month": moment.month - 1,
        "day": moment.day,
        "hour": moment.hour,
        "minute": moment.minute,
        "second": moment.second,
        "ms": moment.microsecond // 1000,
    }


def _compose(fields: dict[str, float | int], local: bool) -> float | int:
    if any(isinstance(v, float) and not math.isfinite(v) for v in fields.values()):
        return math.nan
    year = int(fields["year"]) + int(fields["month"]) // 12
    month = int(fields["month"]) % 12
    try:
        base = dt.datetime(year, month + 1, 1)
        moment = base + dt.timedelta(
            days=fields["day"] - 1,
            hours=fields["hour"],
            minutes=fields["minute"],
            seconds=fields["second"],
            milliseconds=fields["ms"],
        )
        aware = moment.astimezone() if local else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return math.nan
    return _to_ms(aware)


def _setter(name: str, names: tuple[str, ...], local: bool) -> Callable[..., Any]:
    def set_(d: Any = UNDEFINED, *values: Any) -> Any:
        moment = _moment(parse_date(d, name), local)
        if moment is None:
            return math.nan
        fields = _fields(moment)
        for field, value in zip(names, values, strict=False):
            if value is not UNDEFINED:
                number = to_number(value)
                fields[field] = math.trunc(number) if math.isfinite(number) else number
        return _compose(fields, local)

    # Document the real argument names (docs.py reads the signature).
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    set_.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, positional, default=UNDEFINED) for n in ("d", *names)]
    )
    return set_


_SETTERS: dict[str, tuple[str, ...]] = {
    "Date": ("day",),
    "FullYear": ("year", "month", "day"),
    "Hours": ("hour", "minute", "second", "ms"),
    "Milliseconds": ("ms",),
    "Minutes": ("minute", "second", "ms"),
    "Month": ("month", "day"),
    "Seconds": ("second", "ms"),
}
for _field, _names in _SETTERS.items():
    _arity = (2, 1 + len(_names))
    _args = ", ".join(_names)
    register(
        f"date.set{_field}",
        _arity,
        f"Set {_args} in local time; returns the new epoch ms.",
        note=_SETS_MS,
    )(_setter(f"set{_field}", _names, True))
    register(
        f"date.setUTC{_field}",
        _arity,
        f"Set {_args} in UTC; returns the new epoch ms.",
        note=_SETS_MS,
    )(_setter(f"setUTC{_field}", _names, False))


@register(
    "date.setTime",
    (2, 2),
    "The date at epoch milliseconds `t`.",
    note=f"{_MS} As upstream, except that the first argument is not read "
    "(upstream fails when it is not a readable date).",
)
def set_time(d: Any = UNDEFINED, t: Any = UNDEFINED) -> Any:
    number = to_number(t)
    return math.trunc(number) if math.isfinite(number) else math.nan


@register(
    "date.UTC",
    (1, 7),
    "Epoch milliseconds of a UTC date: (year, month 0-based, day, h, m, s, ms).",
    note=f"{_MS} As upstream.",
)
def utc(*parts: Any) -> Any:
    values: list[float | int] = [0, 0, 1, 0, 0, 0, 0]
    for i, part in enumerate(parts[:7]):
        if part is not UNDEFINED:
            number = to_number(part)
            values[i] = math.trunc(number) if math.isfinite(number) else number
    if isinstance(values[0], int) and 0 <= values[0] <= 99:
        values[0] += 1900  # JavaScript's two-digit-year rule
    return _compose(dict(zip(_FIELDS, values, strict=True)), local=False)
