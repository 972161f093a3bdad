"""The console's query parameters, read without I/O: every problem names the
parameter and says what would do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotmesh.dashboard import filters
from hotmesh.errors import FilterError


def test_a_full_job_query() -> None:
    where, page = filters.job_filter(
        {
            "app": "shop",
            "topic": "order.placed",
            "status": "error",
            "since": "2026-12-07T10:00",
            "until": "2026-12-07T12:00+01:00",
            "job": "ord-",
            "key": "c-4",
            "data": "customer.id = 42",
            "limit": "20",
        }
    )
    assert where.app_id == "shop" and where.state == "error"
    assert where.since == datetime(2026, 12, 7, 10, tzinfo=UTC)  # no zone: UTC
    assert where.data == {"customer": {"id": 42}}
    assert (where.job_prefix, where.key_prefix, page.limit) == ("ord-", "c-4", 20)
    assert page.after is None


def test_blank_parameters_are_no_condition() -> None:
    where, page = filters.job_filter({"app": "", "status": "", "data": ""})
    assert where == filters.JobFilter() and page == filters.Page()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a = 1", {"a": 1}),
        ('a.b = "1"', {"a": {"b": "1"}}),
        ("a=true", {"a": True}),
        ("name = Ann Lee", {"name": "Ann Lee"}),
        ("x = a=b", {"x": "a=b"}),
    ],
)
def test_data_conditions(text: str, value: dict[str, object]) -> None:
    assert filters.data_condition(text) == value


def test_the_cursor_round_trips() -> None:
    when = datetime(2026, 12, 7, 14, 30, 1, 123456, tzinfo=UTC)
    page = filters.page({"before": filters.cursor(when, 77)})
    assert page.after == (when, 77)


@pytest.mark.parametrize(
    ("params", "param", "says"),
    [
        ({"status": "don"}, "status", "did you mean 'done'"),
        ({"stat": "done"}, "stat", "did you mean 'status'"),
        ({"since": "noon"}, "since", "not an ISO 8601 time"),
        ({"data": "a. = 1"}, "data", "not a field path"),
        ({"data": "=1"}, "data", "not a field path"),
        ({"limit": "501"}, "limit", "from 1 to 500"),
        ({"before": "1.x"}, "before", "not a cursor"),
        ({"app": "x" * 300}, "app", "longer than 255"),
    ],
)
def test_problems_name_the_parameter(
    params: dict[str, str], param: str, says: str
) -> None:
    with pytest.raises(FilterError) as info:
        filters.job_filter(params)
    assert info.value.param == param and says in str(info.value)


def test_workflow_and_escalation_queries() -> None:
    assert filters.workflow_filter({"name": "n", "queue": "q"})[:3] == ("n", "q", None)
    assert filters.escalation_filter({}) == "pending"
    assert filters.escalation_filter({"status": "all"}) is None
    with pytest.raises(FilterError, match="'role'"):
        filters.escalation_filter({"role": "x"})


def test_prefixes_become_like_patterns_taken_literally() -> None:
    from hotmesh.store.console import like_prefix

    assert like_prefix(None) is None
    assert like_prefix("ord-") == "ord-%"
    assert like_prefix("50%_a\\b") == "50\\%\\_a\\\\b%"
