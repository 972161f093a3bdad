"""Out-of-range durations (issue 20 §4): generated hook ``sleep``, graph ``expire``
and interrupt ``expire`` values, written in the manifest and arriving as data.

Static: the manifest compiles and every duration in its plan can be scheduled,
or it is refused with a problem at the value's ``line:col`` naming the field.
From data: the engine's guard gives a schedulable number of seconds, no timer,
or an ``InvalidDataError`` naming the field; never a value PostgreSQL refuses.
CI runs 300 of each; ``HOTMESH_LONG=1`` runs 3,000.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hotmesh import compiler, errors
from hotmesh.compiler.ranges import MAX_DURATION
from hotmesh.engine import guards
from tests.fuzz.runs import examples
from tests.long import sized

CASES = sized(300, 3000)

durations = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(
        [0, -0.0, 1e-300, MAX_DURATION, MAX_DURATION + 1, 1e300, -1, 2**63, -(2**63)]
    ),
)

APP = """\
app:
  id: d
  version: '1'
  graphs:
    - subscribes: d.go
      expire: {expire}
      activities:
        t: {{type: trigger}}
        h: {{type: hook, sleep: {sleep}}}
        i: {{type: interrupt, expire: {stop}}}
      transitions:
        t: [{{to: h}}, {{to: i}}]
"""


def yaml_number(value: float | int) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ".nan"
    if value == math.inf:
        return ".inf"
    if value == -math.inf:
        return "-.inf"
    return repr(value)


def schedulable(seconds: float) -> None:
    """What the store would compute: now + seconds, a timestamp PostgreSQL holds."""
    assert 0 <= seconds <= MAX_DURATION
    due = datetime.now(UTC) + timedelta(seconds=seconds)
    assert due.year < 294276


@examples(CASES)
@given(sleep=durations, expire=durations, stop=durations)
def test_static_durations_compile_in_range_or_are_refused_where_written(
    sleep: Any, expire: Any, stop: Any
) -> None:
    text = APP.format(
        sleep=yaml_number(sleep), expire=yaml_number(expire), stop=yaml_number(stop)
    )
    problems = [p for p in compiler.validate(text) if p.severity == "error"]
    lines = {"expire": 6, "sleep": 9, "stop": 10}
    for problem in problems:
        assert problem.line in lines.values(), str(problem)
        field = "sleep" if problem.line == 9 else "expire"
        assert f"{field} is " in problem.message and "seconds" in problem.message
    if not problems:
        plan = compiler.compile_source(text)
        graph = plan.graphs[0]
        for seconds in (
            guards.expire_seconds("graph", graph.expire.evaluate({}))
            if graph.expire
            else None,
            guards.sleep_seconds("h", sleep),
            guards.expire_seconds("interrupt", stop),
        ):
            if seconds is not None:
                schedulable(seconds)


@examples(CASES)
@given(value=durations)
def test_durations_from_data_are_schedulable_or_fail_naming_the_field(
    value: Any,
) -> None:
    for check, field in (
        (lambda v: guards.sleep_seconds("h", v), "activity 'h': sleep"),
        (lambda v: guards.expire_seconds("graph 'g'", v), "graph 'g': expire"),
    ):
        try:
            seconds = check(value)
        except errors.InvalidDataError as exc:
            assert str(exc).startswith(field), exc
        else:
            if seconds is not None:
                schedulable(seconds)
