"""Activity heartbeats, activity timeouts, cancellation at a heartbeat and
completion from outside (issue 19), on real PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import asyncpg
import pytest

from hotmesh import MemFlow, errors
from hotmesh.clock import ManualClock
from hotmesh.memflow import activity
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow
SEEN: list[Any] = []
CALLS: Counter[str] = Counter()
STARTED: list[asyncio.Event] = []  # made per test (each has its own loop)
TOKENS: list[bytes] = []
CLOCK: list[ManualClock] = []
GATHERED: list[asyncio.Event] = []


async def result(handle: Any, timeout: float = 15) -> Any:
    return await asyncio.wait_for(handle.result(), timeout)


async def start(mf: Env, name: str, *args: Any) -> Any:
    return await mf.client.workflow.start(
        args=list(args), task_queue="hb", workflow_name=name
    )


def reset() -> None:
    SEEN.clear()
    CALLS.clear()
    STARTED[:] = [asyncio.Event()]
    TOKENS.clear()
    GATHERED.clear()


# -- heartbeat details, attempts and info() -------------------------------------


async def resumable(total: int) -> dict[str, Any]:
    """Counts to ``total``, heartbeating each step; attempt 1 then hangs."""
    info = activity.info()
    done = info.heartbeat_details[0] if info.heartbeat_details else 0
    SEEN.append((info.attempt, list(info.heartbeat_details)))
    for n in range(done + 1, total + 1):
        activity.heartbeat(n)
        if n % 50 == 0:
            await asyncio.sleep(0)  # let the heartbeat writer run
    if info.attempt == 1:
        SEEN.append(("writes", activity.get_context().beats.writes))
        await asyncio.Event().wait()  # stops heartbeating: heartbeat_timeout
    return {
        "attempt": info.attempt,
        "resumed_from": done,
        "workflow_id": info.workflow_id,
        "activity_type": info.activity_type,
        "task_queue": info.task_queue,
        "activity_id": info.activity_id,
    }


async def resumes(total: int) -> Any:
    acts = wf.proxy_activities(
        activities={"resumable": resumable},
        heartbeat_timeout="300ms",
        retry_policy={"maximum_attempts": 2, "initial_interval": 0.05},
    )
    return await acts.resumable(total)


async def test_a_retry_starts_from_the_last_heartbeat_details(mf: Env) -> None:
    reset()
    await mf.worker("hb", resumes)
    handle = await start(mf, "resumes", 500)
    out = await result(handle)
    assert out["attempt"] == 2
    assert out["resumed_from"] == 500  # the latest details won, flushed at failure
    assert out["workflow_id"] == handle.workflow_id
    assert out["activity_type"] == "resumable"
    assert out["task_queue"] == "hb"
    assert out["activity_id"].startswith("-proxy-")
    assert SEEN[0] == (1, [])
    assert SEEN[2] == (2, [500])
    # 500 heartbeats in a burst: written at most twice (the first at once,
    # the rest coalesced for the next throttle interval)
    assert SEEN[1][0] == "writes" and SEEN[1][1] <= 2


def threaded(total: int) -> int:
    """A plain function (run in a thread) heartbeats too."""
    info = activity.info()
    start = info.heartbeat_details[0] if info.heartbeat_details else 0
    for n in range(start + 1, total + 1):
        activity.heartbeat(n)
    if info.attempt == 1:
        raise RuntimeError("fail after the heartbeats")
    return start


async def thread_resumes(total: int) -> Any:
    acts = wf.proxy_activities(
        activities={"threaded": threaded},
        retry_policy={"maximum_attempts": 2, "initial_interval": 0.05},
    )
    return await acts.threaded(total)


async def test_a_threaded_activity_heartbeats_and_its_retry_resumes(mf: Env) -> None:
    reset()
    await mf.worker("hb", thread_resumes)
    assert await result(await start(mf, "thread_resumes", 40)) == 40


# -- timeouts ---------------------------------------------------------------------


async def hangs() -> str:
    CALLS["hangs"] += 1
    activity.heartbeat("once")
    await asyncio.Event().wait()
    return "unreachable"


async def hb_timeout() -> list[Any]:
    acts = wf.proxy_activities(
        activities={"hangs": hangs},
        heartbeat_timeout=0.2,
        retry_policy={"maximum_attempts": 2, "initial_interval": 0.05},
    )
    try:
        await acts.hangs()
    except errors.ActivityFailedError as exc:
        return [exc.error_type, exc.timeout_type, "heartbeat_timeout" in str(exc)]
    return ["not raised"]


async def test_heartbeat_timeout_fails_each_attempt(mf: Env) -> None:
    reset()
    await mf.worker("hb", hb_timeout)
    out = await result(await start(mf, "hb_timeout"))
    assert out == ["ActivityTimeoutError", "heartbeat", True]
    assert CALLS["hangs"] == 2  # retried by the policy, as Temporal does


async def s2c_hangs() -> list[Any]:
    acts = wf.proxy_activities(
        activities={"hangs": hangs},
        schedule_to_close_timeout=0.3,
        retry_policy={"maximum_attempts": 5, "initial_interval": 0.05},
    )
    try:
        await acts.hangs()
    except errors.ActivityFailedError as exc:
        return [exc.error_type, exc.timeout_type]
    return ["not raised"]


async def test_schedule_to_close_timeout_ends_a_running_attempt(mf: Env) -> None:
    reset()
    await mf.worker("hb", s2c_hangs)
    out = await result(await start(mf, "s2c_hangs"))
    assert out == ["ActivityTimeoutError", "schedule_to_close"]
    assert CALLS["hangs"] == 1  # not retried: the activity's time is over


async def fails_late() -> str:
    CALLS["fails_late"] += 1
    CLOCK[0].advance(3600)  # an hour passes while the attempt runs
    raise RuntimeError("boom")


async def s2c_retry() -> list[Any]:
    acts = wf.proxy_activities(
        activities={"fails_late": fails_late},
        schedule_to_close_timeout="10 minutes",
        retry_policy={"maximum_attempts": 5, "initial_interval": 0.05},
    )
    try:
        await acts.fails_late()
    except errors.ActivityFailedError as exc:
        return [exc.error_type, exc.timeout_type, "RuntimeError: boom" in str(exc)]
    return ["not raised"]


async def tick() -> str:
    CLOCK[0].advance(3600)
    STARTED[0].set()
    return "ticked"


async def late() -> str:
    CALLS["late"] += 1
    return "ran"


async def s2s() -> list[Any]:
    ticks = wf.proxy_activities(activities={"tick": tick})
    lates = wf.proxy_activities(
        activities={"late": late},
        task_queue="hb-late",
        schedule_to_start_timeout="1 minute",
    )
    try:
        await asyncio.gather(lates.late(), ticks.tick())
    except errors.ActivityFailedError as exc:
        return [exc.error_type, exc.timeout_type]
    return ["not raised"]


@pytest.fixture
def clocked(mf: Env) -> Env:
    """Every MemFlow part of the test on a ManualClock (``CLOCK[0]``)."""
    CLOCK[:] = [ManualClock()]
    mf.conn = {"dsn": mf.dsn, "options": {"clock": CLOCK[0]}}
    return mf


async def test_no_retry_starts_past_schedule_to_close(clocked: Env) -> None:
    reset()
    await clocked.worker("hb", s2c_retry)
    out = await result(await start(clocked, "s2c_retry"))
    assert out == ["ActivityTimeoutError", "schedule_to_close", True]
    assert CALLS["fails_late"] == 1


async def test_schedule_to_start_timeout_fails_a_late_first_attempt(
    clocked: Env,
) -> None:
    reset()
    await clocked.worker("hb", s2s)
    handle = await start(clocked, "s2s")
    await asyncio.wait_for(STARTED[0].wait(), 15)  # the clock moved an hour
    await clocked.activities("hb-late", {"late": late})  # picked up now: too late
    assert await result(handle) == ["ActivityTimeoutError", "schedule_to_start"]
    assert CALLS["late"] == 0  # never ran


async def bad_timeout() -> None:
    wf.proxy_activities(activities={"late": late}, heartbeat_timeout=0)


async def test_a_zero_timeout_is_refused(mf: Env) -> None:
    await mf.worker("hb", bad_timeout)
    with pytest.raises(errors.WorkflowFailedError, match="heartbeat_timeout"):
        await result(await start(mf, "bad_timeout"))


# -- cancellation at a heartbeat -------------------------------------------------


async def long_work() -> str:
    try:
        for n in range(100_000):
            activity.heartbeat(n)
            STARTED[0].set()
            await asyncio.sleep(0.01)  # the activity's own work
    except asyncio.CancelledError:
        CALLS["activity cancelled"] += 1
        raise
    return "finished"


def long_work_sync() -> str:
    try:
        for n in range(100_000):
            activity.heartbeat(n)
            LOOP[0].call_soon_threadsafe(STARTED[0].set)
            threading.Event().wait(0.01)  # the activity's own work
    except asyncio.CancelledError:
        CALLS["activity cancelled"] += 1
        raise
    return "finished"


LOOP: list[asyncio.AbstractEventLoop] = []


async def cleanup() -> str:
    CALLS["cleanup"] += 1
    return "cleaned"


async def cancellable(sync: bool, handlers: bool = False) -> str:
    if handlers:  # the cancellation is then applied before the activity's result
        wf.set_signal_handler("noop", lambda: None)
    acts = wf.proxy_activities(
        activities={"long_work": long_work, "long_work_sync": long_work_sync}
    )
    tidy = wf.proxy_activities(activities={"cleanup": cleanup})
    try:
        if sync:
            await acts.long_work_sync()
        else:
            await acts.long_work()
        return "finished"
    finally:
        async with wf.shielded():
            await tidy.cleanup()


@pytest.mark.parametrize(
    ("sync", "handlers"), [(False, False), (True, False), (False, True)]
)
async def test_a_running_activity_learns_of_the_cancel_at_its_heartbeat(
    mf: Env, sync: bool, handlers: bool
) -> None:
    reset()
    LOOP[:] = [asyncio.get_running_loop()]
    await mf.worker("hb", cancellable)
    handle = await start(mf, "cancellable", sync, handlers)
    await asyncio.wait_for(STARTED[0].wait(), 15)
    await handle.cancel("stop")
    with pytest.raises(errors.WorkflowCancelledError):
        await result(handle)
    assert CALLS["activity cancelled"] == 1
    assert CALLS["cleanup"] == 1
    assert (await handle.describe())["status"] == "cancelled"


# -- completion from outside -----------------------------------------------------


async def approval(what: str) -> Any:  # completed from outside: any JSON
    TOKENS.append(activity.info().task_token)
    STARTED[0].set()
    if len(TOKENS) == 2 and GATHERED:
        GATHERED[0].set()
    activity.raise_complete_async()


async def needs_approval(what: str) -> Any:
    acts = wf.proxy_activities(activities={"approval": approval})
    try:
        return await acts.approval(what)
    except errors.ActivityFailedError as exc:
        return [exc.error_type, str(exc)]


async def test_an_activity_completed_from_outside(mf: Env) -> None:
    reset()
    await mf.worker("hb", needs_approval)
    handle = await start(mf, "needs_approval", "order 7")
    await asyncio.wait_for(STARTED[0].wait(), 15)
    other = MemFlow.Client({"connection": {"dsn": mf.dsn}})  # any client will do
    try:
        await other.heartbeat_activity(TOKENS[0], "seen by Ann")
        await other.complete_activity(TOKENS[0], {"approved": True})
        assert await result(handle) == {"approved": True}
        with pytest.raises(errors.ActivityTokenError, match="not waiting"):
            await other.complete_activity(TOKENS[0], "again")
    finally:
        await other.close()


async def two_approvals() -> Any:
    acts = wf.proxy_activities(activities={"approval": approval})
    return await asyncio.gather(acts.approval("a"), acts.approval("b"))


async def test_activities_in_a_gather_completed_from_outside(mf: Env) -> None:
    reset()
    GATHERED[:] = [asyncio.Event()]
    await mf.worker("hb", two_approvals)
    handle = await start(mf, "two_approvals")
    await asyncio.wait_for(GATHERED[0].wait(), 15)  # both wait for an answer
    for n, token in enumerate(TOKENS):
        await mf.client.complete_activity(token, f"ok {n}")
    assert sorted(await result(handle)) == ["ok 0", "ok 1"]


async def test_an_activity_failed_from_outside(mf: Env) -> None:
    reset()
    await mf.worker("hb", needs_approval)
    handle = await start(mf, "needs_approval", "order 8")
    await asyncio.wait_for(STARTED[0].wait(), 15)
    await mf.client.fail_activity(TOKENS[0], ValueError("refused by Ann"))
    kind, text = await result(handle)
    assert kind == "ValueError" and "refused by Ann" in text
    with pytest.raises(errors.ActivityTokenError, match="not waiting"):
        await mf.client.fail_activity(TOKENS[0], "again")


async def test_a_heartbeat_from_outside_hears_the_cancellation(mf: Env) -> None:
    reset()
    await mf.worker("hb", needs_approval)
    handle = await start(mf, "needs_approval", "order 9")
    await asyncio.wait_for(STARTED[0].wait(), 15)
    await mf.client.heartbeat_activity(TOKENS[0], 1)
    await handle.cancel("customer left")
    with pytest.raises(errors.ActivityCancelledError, match="cancelled"):
        await mf.client.heartbeat_activity(TOKENS[0], 2)
    # reported as the cancellation it is: the workflow ends cancelled
    await mf.client.fail_activity(TOKENS[0], asyncio.CancelledError("stopped"))
    with pytest.raises(errors.WorkflowCancelledError):
        await result(handle)


async def test_a_bad_task_token_is_a_clear_error(mf: Env) -> None:
    with pytest.raises(errors.ActivityTokenError, match="not a MemFlow task token"):
        await mf.client.complete_activity(b"not-a-token", 1)
    with pytest.raises(errors.ActivityTokenError, match="bytes"):
        await mf.client.complete_activity(12, 1)  # type: ignore[arg-type]


async def test_heartbeat_details_are_stored_in_postgres(mf: Env) -> None:
    reset()
    await mf.worker("hb", resumes)
    handle = await start(mf, "resumes", 120)
    await result(handle)
    conn = await asyncpg.connect(mf.dsn)
    try:
        rows = await conn.fetch(
            "SELECT h.attempt, h.details FROM hotmesh.activity_heartbeats h "
            "JOIN hotmesh.jobs j ON j.id = h.job WHERE j.job_id = $1",
            handle.workflow_id,
        )
    finally:
        await conn.close()
    assert [(r["attempt"], r["details"]) for r in rows] == [(1, "[120]")]


def test_activity_functions_outside_an_activity_say_so() -> None:
    with pytest.raises(errors.WorkflowError, match="only inside a MemFlow activity"):
        activity.heartbeat(1)
    with pytest.raises(errors.WorkflowError, match="only inside a MemFlow activity"):
        activity.info()
