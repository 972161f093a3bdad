"""Worker responses of the wrong shape, against a real engine on PostgreSQL.

A worker callback returns whatever Hypothesis draws: non-dicts, missing keys,
wrong types for status/code/data/metadata, sets, bytes, datetimes, NaN, NUL
characters, lone surrogates, deep nesting, megabyte strings. Every job must
end, within a timeout, either completed (its data round-trips through jsonb)
or with an error result (``metadata.err``); the engine logs no step failure
and keeps serving normal jobs afterwards.

CI runs 200 responses; ``HOTMESH_LONG=1`` runs 2,000.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import json
import logging
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh import errors
from hotmesh.engine.payload import worker_response
from tests.fuzz.runs import examples
from tests.integration.conftest import MeshFactory
from tests.long import sized

CASES = sized(200, 2000)

APP = """
app:
  id: fuzzw
  version: '1'
  graphs:
    - subscribes: fuzzw.go
      expire: 300
      activities:
        t1:
          type: trigger
        w1:
          type: worker
          topic: fuzzw.work
          input:
            maps:
              i: '{t1.output.data.i}'
          job:
            maps:
              out: '{w1.output.data}'
      transitions:
        t1:
          - to: w1
"""

# -- the strategy ---------------------------------------------------------------

texts = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "é\u0301", "שָׁלוֹם", "🙂👍🏽", "'; --"]),
)
not_json = st.one_of(
    st.binary(max_size=6),
    st.frozensets(st.integers(0, 3), max_size=2),
    st.sets(st.integers(0, 3), max_size=2),
    st.datetimes(),
    st.dates(),
    st.decimals(allow_nan=True),
    st.complex_numbers(),
    st.builds(object),
    st.just(Ellipsis),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
keys = st.one_of(
    texts,
    st.integers(-5, 5),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.tuples(st.integers(0, 2)),
)
values = st.recursive(
    st.one_of(scalars, not_json),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=12,
)


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"k": [value]}
    return value


huge = st.one_of(
    st.integers(1, 3).map(lambda mb: "x" * (mb * 350_000)),  # up to ~1 MB strings
    st.integers(1, 3).map(lambda n: {"rows": [{"n": i} for i in range(n * 20_000)]}),
    st.sampled_from([20, 64, 65, 300]).map(
        _nested
    ),  # 65 and 300 go too deep (2 levels each)
    st.just(10**5000),  # more digits than Python prints
)
statuses = st.one_of(
    st.sampled_from(["success", "error", "pending", "", "ERROR", "done"]),
    scalars,
    not_json,
    st.lists(st.text(max_size=3), max_size=2),
)
codes = st.one_of(
    st.sampled_from([200, 202, 400, 404, 500, 0, -1]),
    st.integers(),
    scalars,
    not_json,
    st.lists(st.integers(), max_size=2),
)
responses = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "status": statuses,
            "code": codes,
            "data": st.one_of(values, huge),
            "metadata": st.one_of(st.dictionaries(keys, values, max_size=3), values),
            "extra": values,
        },
    ),
    values.filter(lambda v: v is not None),  # not a dict at all (None acks, §4.2)
)


def draw(count: int) -> list[Any]:
    """``count`` responses, deterministically (Hypothesis as a generator)."""
    out: list[Any] = []

    @examples(count)
    @given(responses)
    def collect(response: Any) -> None:
        out.append(response)

    collect()
    return out


# -- expectations ------------------------------------------------------------------


def _keep_open(normal: dict[str, Any]) -> bool:
    """A ``pending`` status keeps the activity open for more responses (spec §4.7)."""
    return str(normal.get("status") or "success") == "pending"


def _stored(value: Any) -> Any:
    """``value`` as jsonb gives it back: JSON types, NaN as null, keys as strings."""

    def finite(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [finite(x) for x in v]
        return v

    return json.loads(json.dumps(finite(value)))


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON, numbers compared as floats (jsonb keeps numeric text)."""
    number = (int, float)
    if isinstance(a, number) and isinstance(b, number) and type(a) is not bool:
        return type(b) is not bool and (a == b or float(a) == float(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "..."


async def run_cases(
    mesh: MeshFactory, cases: list[Any], caplog: pytest.LogCaptureFixture
) -> dict[str, int]:
    """Run every case as one job; returns outcome counts. Fails on any other outcome."""
    responses: dict[int, Any] = dict(enumerate(cases))

    async def work(message: dict[str, Any]) -> Any:
        return responses[message["data"]["i"]]

    hm = await mesh(
        "fuzzw", workers=[{"topic": "fuzzw.work", "callback": work}], pool_size=20
    )
    await hm.deploy(APP)
    await hm.activate("1")
    counts = {"completed": 0, "error": 0, "open": 0}
    gate = asyncio.Semaphore(32)
    caplog.set_level(logging.WARNING, logger="hotmesh")

    async def one(i: int, case: Any) -> None:
        normal = worker_response(case)
        assert normal is not None
        async with gate:
            if _keep_open(normal):
                job_id = await hm.pub("fuzzw.go", {"i": i})
                # open until a closing response comes; interrupting ends it
                await hm.interrupt("fuzzw.go", job_id, throw=False)
                counts["open"] += 1
                return
            try:
                out = await hm.pubsub("fuzzw.go", {"i": i}, timeout=30)
            except errors.JobError as exc:
                assert exc.error.get("message") is not None, _short(case)
                assert await hm.get_status(exc.job_id) <= 0
                state = await hm.get_state("fuzzw.go", exc.job_id)
                assert state["metadata"].get("err"), _short(case)
                counts["error"] += 1
                return
            except errors.JobTimeoutError:
                pytest.fail(f"case {i} hung: {_short(case)}")
            assert str(normal.get("status") or "success") != "error", _short(case)
            state = await hm.get_state("fuzzw.go", out["metadata"]["jid"])
            data = normal.get("data")
            expected = _stored({} if data is None else data)
            assert _same(state["data"]["out"], expected), _short(case)
            counts["completed"] += 1

    results = await asyncio.gather(
        *(one(i, c) for i, c in enumerate(cases)), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise failures[0]
    # the engine is still healthy: a normal response completes
    responses[-1] = {"data": {"fine": True}}
    out = await hm.pubsub("fuzzw.go", {"i": -1}, timeout=10)
    assert out["data"]["out"] == {"fine": True}
    step_failures = [
        r.getMessage()
        for r in caplog.records
        if "failed" in r.getMessage() and r.name.startswith("hotmesh.")
    ]
    assert not step_failures, step_failures[:5]
    return counts


@pytest.mark.timeout(600)
async def test_wrong_shaped_worker_responses_end_their_jobs(
    mesh: MeshFactory, caplog: pytest.LogCaptureFixture
) -> None:
    cases = draw(CASES)
    counts = await run_cases(mesh, cases, caplog)
    assert sum(counts.values()) == len(cases) >= CASES
    assert counts["completed"] and counts["error"], counts
    print(f"\nworker responses: {len(cases)} cases, {counts}")


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ("just a string", "expected a dict or None, got a str"),
        ([1, 2], "expected a dict or None, got a list"),
        ({"metadata": [1]}, "metadata must be a dict"),
        ({"data": {1, 2}}, "at /data: a set is not a JSON value"),
        ({"data": {"a": b"x"}}, "at /data/a: a bytes is not a JSON value"),
        ({"data": {"t": datetime.datetime(2026, 1, 1)}}, "a datetime is not"),
        ({"data": {"d": decimal.Decimal(1)}}, "a Decimal is not a JSON value"),
        ({"data": {(1, 2): 1}}, "at /data/(1, 2): a tuple key is not valid JSON"),
        ({"data": {"a": ["x\x00y"]}}, "at /data/a/0: NUL characters"),
        ({"data": {"k\x00": 1}}, "at /data/k\\u0000: key: NUL characters"),
        ({"data": "\ud800"}, "at /data: lone surrogate"),
        ({"status": "error", "data": {"message": "bad\x00"}}, "/data/message: NUL"),
        ({"data": _nested(65)}, "nested deeper than 128 levels"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None,
)
async def test_each_bad_shape_fails_its_job_with_a_message_naming_it(
    mesh: MeshFactory, response: Any, message: str
) -> None:
    """Regression: each of these left its message claimed, retried and finally
    poisoned (minutes later) instead of failing the job at once."""

    async def work(_message: dict[str, Any]) -> Any:
        return response

    hm = await mesh("fuzzw", workers=[{"topic": "fuzzw.work", "callback": work}])
    await hm.deploy(APP)
    await hm.activate("1")
    with pytest.raises(errors.JobError) as info:
        await hm.pubsub("fuzzw.go", {"i": 0}, timeout=10)
    assert info.value.code == 500
    assert message in info.value.error["message"]
    assert "invalid worker response" in info.value.error["message"]


async def test_nan_and_infinity_in_a_response_are_stored_as_null(
    mesh: MeshFactory,
) -> None:
    async def work(_message: dict[str, Any]) -> Any:
        return {"data": {"nan": math.nan, "inf": [math.inf, -math.inf], "n": 1.5}}

    hm = await mesh("fuzzw", workers=[{"topic": "fuzzw.work", "callback": work}])
    await hm.deploy(APP)
    await hm.activate("1")
    out = await hm.pubsub("fuzzw.go", {"i": 0}, timeout=10)
    state = await hm.get_state("fuzzw.go", out["metadata"]["jid"])
    assert state["data"]["out"] == {"nan": None, "inf": [None, None], "n": 1.5}


async def test_a_bad_response_under_a_retry_policy_retries_then_fails(
    mesh: MeshFactory,
) -> None:
    """The normalised error 500 goes through the worker's retry policy like any
    other failure: retried, then the job fails (no poison loop)."""
    calls: list[int] = []

    async def bad(_message: dict[str, Any]) -> Any:
        calls.append(1)
        return {"data": {"when": datetime.date(2026, 1, 1)}}

    hm = await mesh(
        "fuzzw",
        workers=[
            {
                "topic": "fuzzw.work",
                "callback": bad,
                "retry": {"maximum_attempts": 3, "initial_interval": 0.01},
            }
        ],
    )
    await hm.deploy(APP)
    await hm.activate("1")
    with pytest.raises(errors.JobError) as info:
        await hm.pubsub("fuzzw.go", {"i": 0}, timeout=10)
    assert "at /data/when: a date is not a JSON value" in info.value.error["message"]
    assert len(calls) == 3
