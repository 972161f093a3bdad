"""Misbehaving workers (issue 20 §6): callbacks that never return, that call
``sys.exit()`` or raise ``CancelledError``, and ``stop()`` while one hangs.
Each attack runs next to healthy jobs on another topic whose latency is
printed (``pytest -s``)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh, errors
from hotmesh.engine.router import Consumer
from hotmesh.store.records import Message
from tests.integration.conftest import MeshFactory
from tests.security.hostile import Healthy

GRAPH = """
app:
  id: wk
  version: '1'
  graphs:
    - subscribes: bad.go
      publishes: bad.done
      activities:
        t1:
          type: trigger
        w1:
          type: worker
          topic: bad.work
          job:
            maps:
              answer: '{w1.output.data.answer}'
      transitions:
        t1:
          - to: w1
    - subscribes: good.go
      publishes: good.done
      activities:
        t2:
          type: trigger
        w2:
          type: worker
          topic: good.work
          input:
            maps:
              n: '{t2.output.data.n}'
          job:
            maps:
              answer: '{w2.output.data.answer}'
      transitions:
        t2:
          - to: w2
"""


def good(message: dict[str, Any]) -> dict[str, Any]:
    """A healthy synchronous worker."""
    return {"data": {"answer": message["data"].get("n", 0) + 1}}


class Blocker:
    """A synchronous callback that blocks until released (a hung call)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.entered = asyncio.Queue[int]()
        self.loop = asyncio.get_running_loop()

    def __call__(self, message: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        self.loop.call_soon_threadsafe(self.entered.put_nowait, self.calls)
        self.release.wait(60)
        return {"data": {"answer": "late"}}


async def _app(mesh: MeshFactory, bad: Any, **worker: Any) -> HotMesh:
    hm = await mesh(
        "wk",
        workers=[
            {"topic": "bad.work", "callback": bad, **worker},
            {"topic": "good.work", "callback": good},
        ],
    )
    await hm.deploy(GRAPH)
    await hm.activate("1")
    return hm


def healthy_jobs(hm: HotMesh) -> Healthy:
    async def one(i: int) -> None:
        out = await hm.pubsub("good.go", {"n": i}, timeout=30)
        assert out["data"]["answer"] == i + 1

    return Healthy(one).start()


async def test_hung_sync_callbacks_starve_only_their_own_topic(
    mesh: MeshFactory,
) -> None:
    """8 callbacks that never return (issue 20: 0 of 50 good jobs finished)."""
    blocker = Blocker()
    hm = await _app(mesh, blocker, capacity=8)
    try:
        for _ in range(8):
            await hm.pub("bad.go", {})
        for _ in range(8):
            await asyncio.wait_for(blocker.entered.get(), 30)
        healthy = healthy_jobs(hm)
        latencies = await healthy.stop(
            "8 hung sync callbacks: healthy sync jobs meanwhile", at_least=50
        )
        assert len(latencies) >= 50
        assert blocker.calls == 8  # the topic's share: its capacity, no more
    finally:
        blocker.release.set()


async def test_a_sync_callback_past_its_timeout_fails_the_attempt_and_retries(
    mesh: MeshFactory,
) -> None:
    blocker = Blocker()
    hm = await _app(
        mesh,
        blocker,
        timeout=0.3,
        retry={"maximum_attempts": 2, "initial_interval": 0.05},
    )
    try:
        healthy = healthy_jobs(hm)
        began = time.monotonic()
        with pytest.raises(errors.JobError, match=r"timeout of 0\.3 s"):
            await hm.pubsub("bad.go", {}, timeout=30)
        took = time.monotonic() - began
        await healthy.stop("sync callback past its timeout: healthy jobs meanwhile")
        assert blocker.calls == 2  # the retry policy applied
        counts = hm.callbacks["bad.work"]
        assert (counts.abandoned, counts.stuck) == (2, 2)
        print(f"timed-out job failed after {took:.2f} s")
    finally:
        blocker.release.set()
    # the abandoned threads return at last and are no longer counted as stuck
    deadline = time.monotonic() + 10
    while hm.callbacks["bad.work"].stuck and time.monotonic() < deadline:
        await asyncio.sleep(0.02)  # threads report back through the loop
    assert hm.callbacks["bad.work"].stuck == 0


async def test_an_async_callback_that_never_returns_fails_in_time(
    mesh: MeshFactory,
) -> None:
    calls = 0
    over = asyncio.Event()  # the end of the test (an immortal task would hang its loop)

    async def never(message: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        while not over.is_set():  # ignores cancellation too
            try:
                await over.wait()
            except asyncio.CancelledError:
                pass
        return {"data": {"answer": "late"}}

    hm = await _app(mesh, never, timeout=0.3)
    healthy = healthy_jobs(hm)
    with pytest.raises(errors.JobError, match="did not return within its timeout"):
        await hm.pubsub("bad.go", {}, timeout=30)
    await healthy.stop("async callback that never returns: healthy jobs meanwhile")
    assert calls >= 1 and hm.callbacks["bad.work"].abandoned == calls
    over.set()


def exits(message: dict[str, Any]) -> dict[str, Any]:
    sys.exit(3)


async def exits_async(message: dict[str, Any]) -> dict[str, Any]:
    sys.exit(4)


async def cancels(message: dict[str, Any]) -> dict[str, Any]:
    raise asyncio.CancelledError


def interrupts(message: dict[str, Any]) -> dict[str, Any]:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("callback", "named"),
    [
        (exits, r"SystemExit\(3,\)"),
        (exits_async, r"SystemExit\(4,\)"),
        (cancels, "CancelledError"),
        (interrupts, "KeyboardInterrupt"),
    ],
)
async def test_a_base_exception_from_a_callback_fails_only_that_attempt(
    mesh: MeshFactory, callback: Any, named: str
) -> None:
    """sys.exit() used to end the process; CancelledError was poison after 30 s."""
    hm = await _app(mesh, callback, retry={"maximum_attempts": 1})
    healthy = healthy_jobs(hm)
    began = time.monotonic()
    with pytest.raises(errors.JobError, match=named):
        await hm.pubsub("bad.go", {}, timeout=20)
    assert time.monotonic() - began < 15  # not the 30 s poison path
    await healthy.stop(f"{callback.__name__}: healthy jobs meanwhile")


async def test_stop_returns_within_its_grace_and_reports_what_it_abandoned(
    mesh: MeshFactory,
) -> None:
    blocker = Blocker()
    hm = await _app(mesh, blocker)
    try:
        job_id = await hm.pub("bad.go", {})
        await asyncio.wait_for(blocker.entered.get(), 30)
        began = time.monotonic()
        report = await hm.stop(grace=0.5)
        took = time.monotonic() - began
        print(f"\nstop() with a hung callback returned after {took:.2f} s: {report}")
        assert took < 5
        assert [a["job_id"] for a in report["abandoned"]] == [job_id]
        assert report["stuck_threads"] == {"bad.work": 1}
    finally:
        blocker.release.set()


async def test_a_lapsed_claim_another_process_took_is_not_started_again(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    """A process paused (SIGSTOP) past its lease resumes holding messages that
    another process has claimed since: it checks before starting them."""
    hm = await _app(mesh, good)
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(
            "INSERT INTO hotmesh.messages (app_id, stream, type, payload) "
            "VALUES ('wk', 'w:paused', 'work', '{}'), ('wk', 'w:paused', 'work', '{}')"
        )
        paused = await hm.store.claim("wk", "w:paused", "paused-owner", 30.0, 2)
        first, second = paused.messages
        # the pause: the first claim runs out and another process takes it
        await conn.execute(
            "UPDATE hotmesh.messages SET reserved_until = now() - interval '1 s' "
            "WHERE id = $1",
            first.id,
        )
        other = await hm.store.claim("wk", "w:paused", "other-owner", 30.0, 2)
        assert [m.id for m in other.messages] == [first.id]
    finally:
        await conn.close()
    started: list[int] = []

    async def handle(msg: Message) -> None:
        started.append(msg.id)

    consumer = Consumer(hm.store, "wk", "w:paused", "paused-owner", handle, lease=30.0)
    for msg in (first, second):
        consumer.held[msg.id] = msg
        consumer._until[msg.id] = 0.0  # what the paused process knows: lapsed
        await consumer._one(msg)
    assert started == [second.id]  # still ours: started; taken: not run twice
