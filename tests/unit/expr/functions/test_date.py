"""@date: JavaScript Date functions over epoch milliseconds, in UTC and a fixed local zone."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hotmesh import errors
from hotmesh.expr import UNDEFINED
from hotmesh.expr.functions import registry
from tests.unit.expr.functions._call import call, same

NAN = math.nan
U = UNDEFINED
#: 2024-01-31T23:59:59.123Z, a Wednesday; 18:59:59 in New York (EST, UTC-5).
D = 1706745599123
#: 2024-07-04T12:00:00Z; 08:00 in New York (EDT, UTC-4).
SUMMER = 1720094400000
#: US Eastern time as a POSIX rule, so the test needs no tz database.
EASTERN = "EST+5EDT,M3.2.0/2,M11.1.0/2"


@pytest.fixture(autouse=True)
def eastern(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run every test with local time = US Eastern, whatever the machine's zone."""
    monkeypatch.setenv("TZ", EASTERN)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


CASES: list[tuple[str, tuple[Any, ...], Any]] = [
    # parsing: every accepted input form
    ("date.valueOf", (D,), D),
    ("date.valueOf", (str(D),), D),
    ("date.valueOf", (1.9,), 1),
    ("date.valueOf", (-1,), -1),
    ("date.valueOf", ("2024-01-31",), 1706659200000),  # UTC midnight, as JS
    ("date.valueOf", ("2024-01-31T23:59:59.123Z",), D),
    ("date.valueOf", ("2024-02-01T01:59:59.123+02:00",), D),  # upstream mis-parses
    ("date.valueOf", ("2024-01-31T18:59:59.123-05:00",), D),
    ("date.valueOf", ("2024-01-31T23:59:59.123456Z",), D),
    ("date.valueOf", ("2024-01-31T18:59:59.123",), D),  # no zone: local time
    ("date.valueOf", (NAN,), NAN),
    ("date.valueOf", (U,), NAN),
    ("date.getTime", (D,), D),
    ("date.getTime", ("0",), 0),
    ("date.fromISOString", ("1970-01-01T00:00:00Z",), 0),
    ("date.fromISOString", ("2024-01-31T23:59:59.123Z",), D),
    ("date.parse", ("2024-01-31T23:59:59.123Z",), D),
    ("date.parse", ("not a date",), NAN),
    ("date.parse", (U,), NAN),
    # string forms
    ("date.toISOString", (D,), "2024-01-31T23:59:59.123Z"),
    ("date.toISOString", (0,), "1970-01-01T00:00:00.000Z"),
    ("date.toISOString", (-1,), "1969-12-31T23:59:59.999Z"),
    ("date.toJSON", (D,), "2024-01-31T23:59:59.123Z"),
    ("date.toJSON", ("2024-01-31",), "2024-01-31T00:00:00.000Z"),
    ("date.toISOXString", (D,), "20240131235959.123"),
    ("date.toISOXString", ("1970-01-01",), "19700101000000.000"),
    ("date.toDateString", (D,), "Wed Jan 31 2024"),
    ("date.toDateString", (SUMMER,), "Thu Jul 04 2024"),
    ("date.toString", (D,), "Wed Jan 31 2024 18:59:59 GMT-0500 (EST)"),
    ("date.toString", (SUMMER,), "Thu Jul 04 2024 08:00:00 GMT-0400 (EDT)"),
    ("date.toLocaleString", (D, "en-US"), "1/31/2024, 6:59:59 PM"),
    ("date.toLocaleString", (SUMMER,), "7/4/2024, 8:00:00 AM"),
    ("date.toLocaleString", (D, "de-DE", {"hour12": False}), "1/31/2024, 6:59:59 PM"),
    ("date.toLocaleDateString", (D,), "1/31/2024"),
    ("date.toLocaleDateString", (SUMMER, "en-US"), "7/4/2024"),
    ("date.toLocaleTimeString", (D,), "6:59:59 PM"),
    ("date.toLocaleTimeString", (1706677200000,), "12:00:00 AM"),  # local midnight
    # getters: local (Eastern) vs UTC
    ("date.getDate", (D,), 31),
    ("date.getUTCDate", (D,), 31),
    ("date.getDate", (1706760000000,), 31),  # 2024-02-01T04:00Z is Jan 31 locally
    ("date.getUTCDate", (1706760000000,), 1),
    ("date.getDay", (D,), 3),
    ("date.getUTCDay", (1706760000000,), 4),
    ("date.getFullYear", (0,), 1969),
    ("date.getUTCFullYear", (0,), 1970),
    ("date.getHours", (D,), 18),
    ("date.getUTCHours", (D,), 23),
    ("date.getMilliseconds", (D,), 123),
    ("date.getUTCMilliseconds", (-1,), 999),
    ("date.getMinutes", (D,), 59),
    ("date.getUTCMinutes", (D,), 59),
    ("date.getMonth", (D,), 0),
    ("date.getUTCMonth", (1706760000000,), 1),
    ("date.getSeconds", (D,), 59),
    ("date.getUTCSeconds", (D,), 59),
    ("date.getTimezoneOffset", (D,), 300),
    ("date.getTimezoneOffset", (SUMMER,), 240),
    ("date.getHours", (NAN,), NAN),
    ("date.getUTCFullYear", (U,), NAN),
    # setters return the new epoch ms, overflowing like JS
    ("date.setUTCHours", (D, 0), 1706662799123),
    ("date.setUTCHours", (D, 24), D + 3_600_000),
    ("date.setUTCHours", (D, 1, 2, 3, 4), 1706662923004),
    ("date.setHours", (D, 20), D + 2 * 3_600_000),
    ("date.setHours", (D, -1), D - 19 * 3_600_000),
    ("date.setUTCMonth", (D, 1), 1709423999123),  # Feb 31 → Mar 2
    ("date.setUTCMonth", (D, -1), 1704067199123),  # Dec 31 2023
    ("date.setMonth", (D, 1, 1), 1706831999123),
    ("date.setUTCDate", (D, 1), 1704153599123),
    ("date.setUTCDate", (D, 0), 1704067199123),
    ("date.setDate", (D, 32), D + 86_400_000),
    ("date.setUTCFullYear", (D, 2023), 1675209599123),
    ("date.setFullYear", (D, 2025, 0, 1), 1735775999123),
    ("date.setUTCMinutes", (D, 0), D - 59 * 60_000),
    ("date.setMinutes", (D, 60), D + 60_000),
    ("date.setUTCSeconds", (D, 0, 0), D - 59_123),
    ("date.setSeconds", (D, "1"), D - 58_000),
    ("date.setUTCMilliseconds", (D, 0), D - 123),
    ("date.setMilliseconds", (D, 1000), D + 877),
    ("date.setUTCHours", (D, NAN), NAN),
    ("date.setUTCHours", (NAN, 1), NAN),
    ("date.setHours", (D, "x"), NAN),
    ("date.setTime", (D, 5), 5),
    ("date.setTime", (D, "x"), NAN),
    # Date.UTC
    ("date.UTC", (2024, 0, 31, 23, 59, 59, 123), D),
    ("date.UTC", (2024,), 1704067200000),
    ("date.UTC", (99, 0), 915148800000),  # two-digit years are 19xx
    ("date.UTC", (2024, 12), 1735689600000),  # month overflow → Jan 2025
    ("date.UTC", (2024, NAN), NAN),
    ("date.UTC", (1969, 11, 31, 23, 59, 59, 999), -1),
]


@pytest.mark.parametrize(("name", "args", "expected"), CASES)
def test_date_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    result = call(name, *args)
    assert same(result, expected), f"@{name}{args!r} = {result!r}, want {expected!r}"


def test_local_functions_follow_the_process_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "UTC0")
    time.tzset()
    assert call("date.getHours", D) == 23
    assert call("date.getTimezoneOffset", D) == 0
    assert call("date.toLocaleString", D, "en-US") == "1/31/2024, 11:59:59 PM"


@pytest.mark.parametrize(
    "bad", ["tomorrow", "2024-13-01", "31/01/2024", "", {}, [1], True, None]
)
def test_unreadable_dates_raise(bad: Any) -> None:
    with pytest.raises(errors.EvaluationError, match="Invalid date format"):
        call("date.toISOString", bad)
    with pytest.raises(errors.EvaluationError, match=r"@date\.getHours: Invalid date"):
        call("date.getHours", bad)


@pytest.mark.parametrize("name", ["date.toISOString", "date.toString"])
def test_invalid_time_value_raises_like_js(name: str) -> None:
    with pytest.raises(errors.EvaluationError, match="Invalid time value"):
        call(name, NAN)


def test_clock_functions_read_now() -> None:
    before = time.time_ns() // 1_000_000
    now = call("date.now")
    after = time.time_ns() // 1_000_000
    assert isinstance(now, int) and before <= now <= after
    today = call("date.yyyymmdd")
    assert today in {
        dt.datetime.fromtimestamp(before / 1000, dt.UTC).strftime("%Y-%m-%d"),
        dt.datetime.fromtimestamp(after / 1000, dt.UTC).strftime("%Y-%m-%d"),
    }
    assert re.fullmatch(r"\d{14}\.\d{3}", call("date.toISOXString"))


def test_clock_functions_are_impure() -> None:
    for name in ["date.now", "date.yyyymmdd", "date.toISOXString"]:
        spec = registry.lookup(name)
        assert spec is not None and spec.pure is False, name
    spec = registry.lookup("date.toISOString")
    assert spec is not None and spec.pure


def test_every_catalogue_date_function_is_documented() -> None:
    fields = [
        "Date",
        "Day",
        "FullYear",
        "Hours",
        "Milliseconds",
        "Minutes",
        "Month",
        "Seconds",
    ]
    setters = [
        "Date",
        "FullYear",
        "Hours",
        "Milliseconds",
        "Minutes",
        "Month",
        "Seconds",
    ]
    methods = [
        "now", "yyyymmdd", "fromISOString", "parse", "toISOXString", "toISOString",
        "toJSON", "toDateString", "toString", "toLocaleString", "toLocaleDateString",
        "toLocaleTimeString", "getTime", "getTimezoneOffset", "setTime", "UTC", "valueOf",
        *(f"get{f}" for f in fields), *(f"getUTC{f}" for f in fields),
        *(f"set{f}" for f in setters), *(f"setUTC{f}" for f in setters),
    ]  # fmt: skip
    assert sorted(f"date.{m}" for m in methods) == [
        n for n in registry.names() if n.startswith("date.")
    ]
    for method in methods:
        spec = registry.lookup(f"date.{method}")
        assert spec is not None, f"@date.{method} is not registered"
        assert spec.doc.strip(), f"@date.{method} has no doc"
