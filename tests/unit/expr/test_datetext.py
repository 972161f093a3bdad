"""Date strings JavaScript's Date.parse reads beyond ISO-8601 (V8's legacy
parser), through ``hotmesh.expr.datetext`` and every @date function that takes
a date. Local time is US Eastern here (UTC-5 in January, UTC-4 in July), so a
form read as local time cannot pass by being read as UTC.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hotmesh import errors
from hotmesh.expr import datetext
from tests.unit.expr.functions._call import call

EASTERN = "EST+5EDT,M3.2.0/2,M11.1.0/2"
H = 3_600_000
#: 2024-01-31T00:00:00Z
JAN31 = 1706659200000
#: 2024-01-31T23:59:59Z
LAST = JAN31 + 24 * H - 1000
#: 2024-01-30T10:00:00Z
RFC = 1706608800000
#: 2024-07-04T12:00:00Z
SUMMER = 1720094400000


@pytest.fixture(autouse=True)
def eastern(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", EASTERN)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


ACCEPTED: list[tuple[str, int]] = [
    # RFC 2822 (and toUTCString() output)
    ("Tue, 30 Jan 2024 10:00:00 GMT", RFC),
    ("Tue, 30 Jan 2024 10:00:00 +0100", RFC - H),
    ("30 Jan 2024 10:00:00 -0000", RFC),
    ("Tue, 30 Jan 2024 10:00 GMT", RFC),
    ("Tue, 30 Jan 2024 10:00:00 UT", RFC),
    ("Tue, 30 Jan 2024 10:00:00 UTC", RFC),
    ("Tue, 30 Jan 2024 10:00:00 Z", RFC),
    ("Tue, 30 Jan 2024 10:00:00 EST", RFC + 5 * H),
    ("Tue, 30 Jan 2024 10:00:00 EDT", RFC + 4 * H),
    ("Tue, 30 Jan 2024 10:00:00 CST", RFC + 6 * H),
    ("Tue, 30 Jan 2024 10:00:00 CDT", RFC + 5 * H),
    ("Tue, 30 Jan 2024 10:00:00 MST", RFC + 7 * H),
    ("Tue, 30 Jan 2024 10:00:00 MDT", RFC + 6 * H),
    ("Tue, 30 Jan 2024 10:00:00 PST", RFC + 8 * H),
    ("Tue, 30 Jan 2024 10:00:00 PDT", RFC + 7 * H),
    ("Wed, 31 Jan 2024 23:59:59 GMT", LAST),
    ("Thu, 01 Jan 1970 00:00:00 GMT-0500", 5 * H),
    # toString() output, with the zone's name in parentheses
    ("Wed Jan 31 2024 18:59:59 GMT-0500 (Eastern Standard Time)", LAST),
    ("Thu Feb 01 2024 01:59:59 GMT+0200 (Eastern European Standard Time)", LAST),
    ("Thu Jul 04 2024 08:00:00 GMT-0400 (Eastern Daylight Time)", SUMMER),
    ("Jan 31 2024 (a (nested) note) 10:00 GMT", JAN31 + 10 * H),
    # toDateString() output and month names: local midnight
    ("Wed Jan 31 2024", JAN31 + 5 * H),
    ("January 31, 2024", JAN31 + 5 * H),
    ("31 January 2024", JAN31 + 5 * H),
    ("2024 Jan 31", JAN31 + 5 * H),
    ("JAN 31 2024", JAN31 + 5 * H),
    ("Jan 31, 2024 10:00:00", JAN31 + 15 * H),
    ("31 January 2024 10:00 PM", JAN31 + 27 * H),
    ("Jul 4 2024 08:00", SUMMER),
    # toLocaleString() en-US output and numeric dates: M/D/Y unless Y comes first
    ("1/31/2024, 6:59:59 PM", LAST),
    ("1/31/2024", JAN31 + 5 * H),
    ("1/31/2024 12:00 AM", JAN31 + 5 * H),
    ("1/31/2024 12:30 PM", JAN31 + 17 * H + 30 * 60_000),
    ("2024/01/31", JAN31 + 5 * H),
    ("2024/1/31 18:59:59", LAST),
    ("2024-1-31", JAN31 + 5 * H),  # not ISO (one-digit month): local, as V8
    ("2024-01-31 18:59:59", LAST),  # a space instead of T: local time
    # two-digit and missing years, as V8
    ("1/31/24", JAN31 + 5 * H),
    ("12/31/99", 946598400000 + 5 * H),
    ("Jan 31", 980899200000 + 5 * H),  # 2001-01-31: V8's default year
    # offsets after a time or a UTC zone name
    ("Jan 31 2024 10:00 GMT+5", JAN31 + 5 * H),
    ("Jan 31 2024 10:00 +05:30", JAN31 + 4 * H + 30 * 60_000),
    ("Jan 31 2024 10:00 UTC-0130", JAN31 + 11 * H + 30 * 60_000),
    # time details
    ("Jan 1 2024 24:00 GMT", 1704153600000),
    ("Jan 1 2024 10:00:00.5 GMT", 1704103200500),
    ("Jan 1 2024 10:00:00.1239 GMT", 1704103200123),
    # V8 reads a number that cannot be a minute as one more date number, and
    # ignores it: "10:60" is 10:00
    ("Jan 1 2024 10:60", 1704067200000 + 15 * H),
    ("7:2024-01-31", 1704204060000),  # 07:01 on 1 January at GMT-31, as V8
    # a day past the month's end rolls over, as JavaScript's date arithmetic
    ("Feb 30 2024", 1709251200000 + 5 * H),
]

REJECTED = [
    "",
    "garbage",
    "foo2024",  # a word glued to the first number
    "Jan 31 2024 Tuesday",  # a word after a number
    "Jan 1 2024 13:00 PM",
    "Jan 1 2024 25:00",
    "Jan 32 2024",
    "13/31/2024",
    "1 2 3 4",
    "10:00",  # no date
    "2024-01-31T10:00:00 GMT",  # ISO time followed by more text
    "Jan 1 2024 10:00 +123456",
]


@pytest.mark.parametrize(("text", "ms"), ACCEPTED)
def test_v8_legacy_forms(text: str, ms: int) -> None:
    assert datetext.parse(text) == ms
    assert call("date.parse", text) == ms
    assert call("date.getTime", text) == ms  # every function that takes a date
    assert call("date.fromISOString", text) == ms


@pytest.mark.parametrize("text", REJECTED)
def test_forms_v8_rejects_are_nan(text: str) -> None:
    assert datetext.parse(text) is None
    assert math.isnan(call("date.parse", text))


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("date.toISOString", ("Tue, 30 Jan 2024 10:00:00 GMT",), "2024-01-30T10:00:00.000Z"),
        ("date.getUTCHours", ("Tue, 30 Jan 2024 10:00:00 +0100",), 9),
        ("date.getHours", ("Wed Jan 31 2024",), 0),
        ("date.getDay", ("1/31/2024, 6:59:59 PM",), 3),
        ("date.toDateString", ("Wed, 31 Jan 2024 23:59:59 GMT",), "Wed Jan 31 2024"),
        ("date.setUTCHours", ("Tue, 30 Jan 2024 10:00:00 GMT", 0), RFC - 10 * H),
        ("date.valueOf", ("Thu Jul 04 2024 08:00:00 GMT-0400 (EDT)",), SUMMER),
    ],
)  # fmt: skip
def test_date_functions_read_the_forms(
    name: str, args: tuple[Any, ...], expected: Any
) -> None:
    assert call(name, *args) == expected


def test_round_trips_javascripts_own_output() -> None:
    # What toString()/toDateString() print parses back (to the second / day).
    printed = call("date.toString", LAST)
    assert call("date.parse", printed) == LAST
    assert call("date.parse", call("date.toDateString", LAST)) == JAN31 + 5 * H


@pytest.mark.parametrize(
    "garbage", ["not a date", "", "2024-13-45", "Jan 32 2024", "{}"]
)
def test_from_iso_string_of_garbage_is_an_invalid_date(garbage: str) -> None:
    # JavaScript's new Date(garbage) is an Invalid Date (JSON: null), not a throw.
    assert math.isnan(call("date.fromISOString", garbage))


def test_functions_that_need_a_valid_date_still_refuse_garbage() -> None:
    # Upstream throws "Invalid date format" here too: the job fails, loudly.
    with pytest.raises(errors.EvaluationError, match="Invalid date format"):
        call("date.toISOString", "not a date")
