"""Static durations and fan-outs out of range are refused at compile time with
``file:line:col`` (issue 20 §3, §4)."""

from __future__ import annotations

import math

import pytest

from hotmesh import compiler, errors
from hotmesh.compiler.ranges import MAX_DURATION, duration_problem
from hotmesh.graph import ManifestLimits

APP = """\
app:
  id: r
  version: '1'
  graphs:
    - subscribes: r.go
      expire: {expire}
      activities:
        t: {{type: trigger}}
        h: {{type: hook, sleep: {sleep}}}
        i: {{type: interrupt, expire: {stop}}}
      transitions:
        t: [{{to: h}}, {{to: i}}]
"""


def problems(expire: str = "60", sleep: str = "5", stop: str = "1") -> list[str]:
    text = APP.format(expire=expire, sleep=sleep, stop=stop)
    return [str(p) for p in compiler.validate(text) if p.severity == "error"]


def test_in_range_values_compile() -> None:
    assert problems() == []
    assert problems(expire="0", sleep="-1", stop="0") == []  # sleep <= 0: passthrough
    assert problems(sleep="'{t.output.data.s}'", expire="'{t.output.data.e}'") == []


@pytest.mark.parametrize(
    ("field", "value", "where", "message"),
    [
        (
            "sleep",
            ".inf",
            "<string>:9:25",
            "sleep is Infinity seconds; at most 3,155,760,000",
        ),
        ("sleep", "1e300", "<string>:9:25", "sleep is 1e+300 seconds"),
        ("expire", "1e300", "<string>:6:7", "expire is 1e+300 seconds"),
        ("expire", "-5", "<string>:6:7", "expire is -5 seconds; it must be 0 or more"),
        (
            "stop",
            "-.inf",
            "<string>:10:30",
            "expire is -Infinity seconds; it must be 0",
        ),
    ],
)
def test_out_of_range_durations_are_refused_where_written(
    field: str, value: str, where: str, message: str
) -> None:
    (problem,) = problems(**{field: value})
    assert problem.startswith(where) and message in problem, problem


def test_a_deploy_of_an_out_of_range_sleep_fails_naming_it() -> None:
    with pytest.raises(errors.ManifestValidationError, match="sleep is Infinity"):
        compiler.compile_source(APP.format(expire=1, sleep=".inf", stop=1))


def fanout(count: int) -> str:
    hooks = "".join(f"        h{i}: {{type: hook}}\n" for i in range(count))
    edges = "".join(f"          - to: h{i}\n" for i in range(count))
    return (
        "app:\n  id: f\n  version: '1'\n  graphs:\n    - subscribes: f.go\n"
        "      activities:\n        t: {type: trigger}\n"
        + hooks
        + "      transitions:\n        t:\n"
        + edges
    )


def test_a_fanout_over_max_branches_is_refused_at_compile_time() -> None:
    assert [p for p in compiler.validate(fanout(1000)) if p.severity == "error"] == []
    (problem,) = compiler.validate(fanout(1001))
    assert str(problem).startswith("<string>:1010:9:")
    assert "fans out to 1,001 transitions; at most 1,000" in str(problem)
    assert "ManifestLimits.max_branches" in str(problem)


def test_max_branches_is_configurable() -> None:
    small = ManifestLimits(max_branches=10)
    (problem,) = compiler.validate(fanout(11), limits=small)
    assert "at most 10" in str(problem)
    wide = ManifestLimits(max_branches=5000)
    assert compiler.validate(fanout(1001), limits=wide) == []


@pytest.mark.parametrize(
    ("value", "negative", "ok"),
    [
        (0, None, True),
        (MAX_DURATION, None, True),
        (MAX_DURATION + 1, None, False),
        (math.inf, "no sleep", False),
        (-1, "no sleep", True),
        (-1, None, False),
        (math.nan, None, True),  # not a duration: a passthrough sleep
        (True, None, True),  # not a number
        ("1e300", None, True),  # a string is not a number either (as upstream)
    ],
)
def test_duration_problem(value: object, negative: str | None, ok: bool) -> None:
    assert (duration_problem(value, negative=negative) is None) is ok
