"""Flow-control options (pure): limits, periods, priorities, keys, and the
manifest checks of a worker activity's ``concurrency``/``rate``/``priority``."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh import errors, flow
from hotmesh.compiler import validate

BASE = """\
app:
  id: lim
  version: '1'
  graphs:
    - subscribes: lim.start
      activities:
        t: {type: trigger}
        a:
          type: worker
          topic: TOPIC
OPTIONS
        b:
          type: worker
          topic: lim.other
OTHER
      transitions:
        t: [{to: a}]
        a: [{to: b}]
"""


def manifest(options: str, topic: str = "lim.work", other: str = "") -> str:
    return (
        BASE.replace("TOPIC", topic).replace("OPTIONS", options).replace("OTHER", other)
    )


def test_concurrency_forms() -> None:
    assert flow.concurrency(3) == (3, None, None)
    assert flow.concurrency({"limit": 3}) == (3, None, None)
    assert flow.concurrency({"limit": 1, "key": "{$job.data.c}"}) == (
        None,
        1,
        "{$job.data.c}",
    )
    assert flow.concurrency(None) == (None, None, None)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(1, 1.0), (0.5, 0.5), ("500ms", 0.5), ("10s", 10.0), ("1m", 60.0), ("2h", 7200.0)],
)
def test_periods(value: Any, seconds: float) -> None:
    assert flow.rate({"limit": 1, "period": value})[1] == seconds


@pytest.mark.parametrize("value", [0, -1, "0s", "1 fortnight", True, "", None, 10**9])
def test_bad_periods_name_the_field(value: Any) -> None:
    with pytest.raises(errors.ConfigError, match=r"'rate\.period' must be a duration"):
        flow.rate({"limit": 1, "period": value})


def test_limits_combine_topic_and_keyed_rate() -> None:
    limits, keys = flow.limits(4, {"limit": 10, "period": "1s", "key": "{$job.data.k}"})
    assert limits == flow.TopicLimits(4, None, 10, 1.0, True)
    assert keys == flow.Keys(None, "{$job.data.k}")
    assert flow.TopicLimits().empty and not limits.empty


@pytest.mark.parametrize(
    ("value", "text"),
    [("acme", "acme"), (7, "7"), (7.0, "7"), (2.5, "2.5"), (True, "true"), ("", None)],
)
def test_key_text(value: Any, text: str | None) -> None:
    assert flow.key_text(value) == text


@pytest.mark.parametrize("value", [None, {}, [1], float("nan")])
def test_values_that_cannot_be_keys(value: Any) -> None:
    assert flow.key_text(value) is None


def test_priority_range() -> None:
    assert flow.priority(-32768) == -32768 and flow.priority(32767) == 32767
    for bad in (32768, 1.5, "1", True):
        with pytest.raises(errors.ConfigError, match="'priority' must be an integer"):
            flow.priority(bad)


def test_a_manifest_declares_limits_per_literal_topic() -> None:
    text = manifest(
        "          concurrency: {limit: 1, key: '{$job.data.c}'}\n"
        "          rate: {limit: 50, period: 1s}\n"
        "          priority: '{$job.data.p}'"
    )
    assert validate(text) == []
    configs = [
        ("a", {"topic": "lim.work", "concurrency": 2}),
        ("b", {"topic": "lim.{$job.data.q}", "concurrency": 2}),
        ("c", {"topic": "lim.free"}),
    ]
    assert flow.declared(configs) == {"lim.work": flow.TopicLimits(2)}


@pytest.mark.parametrize(
    ("options", "pointer", "message"),
    [
        ("          concurrency: 0", "/a/concurrency", ""),
        ("          concurrency: {limit: 2, kee: x}", "/a/concurrency", ""),
        ("          rate: {limit: 5}", "/a/rate", ""),
        ("          rate: {limit: 5, period: soon}", "/a/rate", ""),
        (
            "          rate: {limit: 5, period: 0s}",
            "/a/rate",
            "'rate.period' must be a duration",
        ),
    ],
)
def test_bad_limits_in_a_manifest_are_located(
    options: str, pointer: str, message: str
) -> None:
    problems = [p for p in validate(manifest(options)) if p.severity == "error"]
    assert problems, options
    assert any(p.pointer.endswith(pointer) or pointer in p.pointer for p in problems)
    assert all(p.line > 0 for p in problems)
    if message:
        assert any(message in p.message for p in problems)


def test_limits_need_a_literal_topic() -> None:
    problems = validate(
        manifest("          concurrency: 2", topic="'lim.{$job.data.q}'")
    )
    assert [p.message for p in problems if "plain-text topic" in p.message]
    assert problems[0].pointer.endswith("/a/concurrency")


def test_a_topic_declares_its_limits_once() -> None:
    text = manifest(
        "          concurrency: 2",
        other="          concurrency: 3",
    ).replace("topic: lim.other", "topic: lim.work")
    problems = validate(text)
    assert len(problems) == 1
    assert (
        "topic 'lim.work' already has other limits at <string>:" in problems[0].message
    )
    same = manifest("          concurrency: 2", other="          concurrency: 2")
    assert validate(same.replace("topic: lim.other", "topic: lim.work")) == []


def test_a_key_only_option_carries_a_key_on_any_topic_and_declares_nothing() -> None:
    text = manifest(
        "          concurrency: {key: '{$job.data.c}'}\n"
        "          rate: {key: '{$job.data.r}'}",
        topic="'lim.{$job.data.q}'",
    )
    assert validate(text) == []
    configs = [
        ("a", {"topic": "lim.work", "concurrency": {"key": "{$job.data.c}"}}),
        ("b", {"topic": "lim.b", "concurrency": {"key": "{x}"}, "rate": RATE}),
    ]
    assert flow.declared(configs) == {"lim.b": flow.TopicLimits(None, None, 5, 1.0)}
    assert flow.key_only({"key": "{x}"}) and not flow.key_only(
        {"key": "{x}", "limit": 1}
    )


RATE = {"limit": 5, "period": "1s"}


@pytest.mark.parametrize(
    "options",
    [
        "          concurrency: {key: ''}",
        "          rate: {key: '{x}', limit: 5}",
        "          rate: {key: '{x}', period: 1s}",
    ],
)
def test_a_bad_key_only_option_is_refused(options: str) -> None:
    problems = [p for p in validate(manifest(options)) if p.severity == "error"]
    assert problems, options
    assert all(p.line > 0 for p in problems)
