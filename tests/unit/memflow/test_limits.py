"""MemFlow's flow options (pure): the key of a call from its arguments, the
limits a proxy and Worker.create declare, and the conflicts refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hotmesh import errors, flow
from hotmesh.memflow import limits


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    limits.clear()
    yield
    limits.clear()


def charge(customer_id: str, amount: int, currency: str = "EUR") -> None:
    """An activity: its parameters name the key."""


ARGS = ["cus_7", 990]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("customer_id", "cus_7"),
        ("currency", "EUR"),  # a default counts
        (1, "990"),  # a number key is text
        (lambda customer_id, amount: f"{customer_id}/{amount > 500}", "cus_7/True"),
    ],
)
def test_a_key_is_taken_from_the_call(key: Any, expected: str) -> None:
    given = limits.options({"limit": 1, "key": key}, None, "proxy_activities")
    assert given.keys("proxy_activities", "charge", ARGS, charge) == {"ckey": expected}


def test_both_keys_and_what_they_declare() -> None:
    given = limits.options(
        {"limit": 2, "key": 0},
        {"limit": 10, "period": "1m", "key": "amount"},
        "proxy_activities",
        {"charge": charge},
    )
    assert given.keys("p", "charge", ARGS, charge) == {"ckey": "cus_7", "rkey": "990"}
    limits.declare("ns", "q-activity", given.declared)
    assert limits.declared("ns") == {
        "q-activity": flow.TopicLimits(None, 2, 10, 60.0, True)
    }


@pytest.mark.parametrize(
    ("key", "fn", "message"),
    [
        (lambda *a: None, charge, "concurrency.key of charge() gave None"),
        (lambda *a: {"a": 1}, charge, "gave {'a': 1}; a key is a non-empty string"),
        (lambda *a: 1 / 0, charge, "the key function raised ZeroDivisionError"),
        (5, charge, "argument 5 is the key, but the call has 2 argument(s)"),
        ("customer_id", None, "the activity is not registered in this process"),
    ],
)
def test_a_key_that_cannot_be_taken_is_a_config_error(
    key: Any, fn: Any, message: str
) -> None:
    given = limits.options({"limit": 1, "key": key}, None, "proxy_activities")
    with pytest.raises(errors.ConfigError) as caught:
        given.keys("proxy_activities", "charge", ARGS, fn)
    assert message in str(caught.value)
    assert str(caught.value).startswith("proxy_activities: concurrency.key of charge()")


def test_a_task_queue_option_is_declared_once_or_alike() -> None:
    worker = limits.options(None, {"limit": 5, "period": "1s"}, "Worker.create")
    proxy = limits.options({"limit": 1, "key": 0}, None, "proxy_activities")
    limits.declare("ns", "q-activity", worker.declared)
    limits.declare("ns", "q-activity", proxy.declared)  # another option: merged
    limits.declare("ns", "q-activity", proxy.declared)  # the same again: fine
    assert limits.declared("ns")["q-activity"] == flow.TopicLimits(None, 1, 5, 1.0)
    other = limits.options(3, None, "proxy_activities")
    with pytest.raises(errors.ConfigError) as caught:
        limits.declare("ns", "q-activity", other.declared)
    assert str(caught.value) == (
        "proxy_activities: 'concurrency' of task queue activities 'q-activity' is "
        "concurrency 3 here but 1 per key in proxy_activities; a task queue's "
        "limits are declared once (or alike)"
    )


def test_worker_create_takes_no_key() -> None:
    with pytest.raises(errors.ConfigError, match=r"Worker.create: a 'key' in options"):
        limits.options({"limit": 1, "key": 0}, None, "Worker.create", keyed=False)
