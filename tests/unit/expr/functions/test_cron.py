"""@cron.nextDelay: seconds to the next UTC occurrence of a cron expression."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hotmesh.expr import UNDEFINED
from hotmesh.expr.functions import registry
from hotmesh.expr.functions.cron import delay_from
from tests.unit.expr.functions._call import call

#: 2024-01-31T23:59:30.250Z
NOW = dt.datetime(2024, 1, 31, 23, 59, 30, 250_000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("* * * * *", 30),  # next minute boundary in 29.75 s, rounded up
        ("0 0 * * *", 30),  # midnight UTC
        ("0 12 * * *", 12 * 3600 + 30),
        ("*/15 * * * *", 30),
        ("0 0 1 * *", 30),  # Feb 1 is next
        ("0 0 * * 1", 4 * 86400 + 30),  # next Monday: Feb 5
        ("@daily", 30),
        ("@hourly", 30),
        ("*/10 * * * * *", 10),  # six fields: seconds come first, as upstream
        ("* * * * * *", 1),  # 0.75 s rounds up; never below the 1 s floor
        ("31 59 23 * * *", 1),
        ("0 0 0 1 1 *", 335 * 86400 + 30),  # 2025-01-01 (2024 is a leap year)
    ],
)
def test_delay_to_next_utc_occurrence(expression: str, seconds: int) -> None:
    assert delay_from(expression, NOW) == seconds


@pytest.mark.parametrize("value", [UNDEFINED, None, 5, 1.5, True, ["* * * * *"], {}])
def test_non_string_is_minus_one(value: Any) -> None:
    assert call("cron.nextDelay", value) == -1


@pytest.mark.parametrize(
    "expression",
    [
        "",
        " ",
        "not cron",
        "61 * * * *",
        "* 24 * * *",
        "* * * 13 *",
        "* * * * 8",
        "* * * * * * * *",
        "* * 32 * *",
        "*/0 * * * *",
        "a-b * * * *",
        "@never",
        "0 0 1 1 * 1999",  # a year field: out of range
    ],
)
def test_invalid_expression_is_minus_one(expression: str) -> None:
    # Upstream answers -1 rather than throwing, so a `sleep` mapped from it passes.
    assert call("cron.nextDelay", expression) == -1
    assert delay_from(expression, NOW) == -1


@pytest.mark.parametrize("expression", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6 *"])
def test_no_next_occurrence_is_minus_one(expression: str) -> None:
    # Valid fields that no date satisfies (30 February, 31 April).
    assert delay_from(expression, NOW) == -1
    assert call("cron.nextDelay", expression) == -1


def test_uses_the_current_clock() -> None:
    delay = call("cron.nextDelay", "* * * * *")
    assert isinstance(delay, int) and 1 <= delay <= 60
    assert 1 <= call("cron.nextDelay", "0 0 * * *") <= 86400


def test_registered_impure_with_doc() -> None:
    spec = registry.lookup("cron.nextDelay")
    assert spec is not None and spec.doc.strip()
    assert spec.pure is False
    assert [n for n in registry.names() if n.startswith("cron.")] == ["cron.nextDelay"]
