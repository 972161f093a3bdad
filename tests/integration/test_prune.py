"""Pruning: rows of jobs expired longer than ``retention`` ago, and early signals
past their expiry, are deleted; live and recently expired jobs are not."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import pytest

from hotmesh import HotMesh, errors, upkeep
from hotmesh.clock import ManualClock
from tests.integration.conftest import MeshFactory
from tests.waiting import Changes, until_notified

APP = """
app:
  id: prune
  version: '1'
  graphs:
    - subscribes: quick
      expire: 0
      activities:
        q: {type: trigger, job: {maps: {n: '{$self.input.data.n}'}}}
    - subscribes: waits
      activities:
        w: {type: trigger}
        h: {type: hook}
      transitions:
        w: [{to: h}]
      hooks:
        go: [{to: h, conditions: {match: [{expected: '{$job.metadata.jid}', actual: '{$self.hook.data.id}'}]}}]
"""


async def _count(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_prune_deletes_expired_jobs_and_keeps_live_ones(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await mesh("prune", retention=None)  # no background pruning in this test
    await hm.deploy(APP)
    await hm.activate("1")
    done = [await hm.pubsub("quick", {"n": n}, timeout=10) for n in range(3)]
    live = await hm.pub("waits", {})
    assert await hm.get_status(live) > 0
    # expired just now: kept while inside the retention window
    assert await hm.prune(retention=3600) == {"jobs": 0, "signals": 0}
    assert await hm.prune(retention=0) == {"jobs": 3, "signals": 0}
    for out in done:
        with pytest.raises(errors.JobNotFoundError):
            await hm.get_state("quick", out["metadata"]["jid"])
    assert (
        await _count(
            pg_dsn,
            "SELECT count(*) FROM hotmesh.activities a JOIN hotmesh.jobs j ON j.id = a.job"
            " WHERE j.topic = 'quick'",
        )
        == 0
    )
    assert await _count(pg_dsn, "SELECT count(*) FROM hotmesh.jobs") == 1
    assert await hm.get_status(live) > 0  # the waiting job is untouched
    assert await hm.signal("go", {"id": live}) == live  # and still resumes


async def test_prune_deletes_early_signals_past_their_expiry(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await mesh("prune", retention=None, signal_ttl=0)
    await hm.deploy(APP)
    await hm.activate("1")
    assert await hm.signal("go", {"id": "nobody-yet"}, keep=True) is None  # kept 0 s
    assert await _count(pg_dsn, "SELECT count(*) FROM hotmesh.signals") == 1
    assert await hm.prune(retention=0) == {"jobs": 0, "signals": 1}
    assert await _count(pg_dsn, "SELECT count(*) FROM hotmesh.signals") == 0


async def test_pruning_can_be_turned_off(mesh: MeshFactory) -> None:
    hm = await mesh("prune", retention=None)
    with pytest.raises(errors.ConfigError, match="pruning is off"):
        await hm.prune()


async def test_every_engine_prunes_in_the_background(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await mesh("prune", retention=0, prune_interval=0.05)
    await hm.deploy(APP)
    await hm.activate("1")
    out = await hm.pubsub("quick", {"n": 1}, timeout=10)
    job_id = out["metadata"]["jid"]

    async def gone() -> bool:
        return await hm.store.read_job("prune", job_id, include_expired=True) is None

    # nothing announces a prune: only the database tells the row is gone
    await until_notified(pg_dsn, gone, 10, f"job {job_id} pruned")


async def test_prune_takes_jobs_by_age_and_keeps_long_runners_expired_lately(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await mesh("prune", retention=None)
    await hm.deploy(APP)
    await hm.activate("1")
    old, long_runner, new = [
        (await hm.pubsub("quick", {"n": n}, timeout=10))["metadata"]["jid"]
        for n in range(3)
    ]
    conn = await asyncpg.connect(pg_dsn)
    try:
        # created 3 h ago: one expired 2 h ago, one ran until 10 min ago
        for job_id, expired in ((old, "2 hours"), (long_runner, "10 minutes")):
            await conn.execute(
                "UPDATE hotmesh.jobs SET created_at = now() - interval '3 hours',"
                " expired_at = now() - $2::text::interval WHERE job_id = $1",
                job_id,
                expired,
            )
    finally:
        await conn.close()

    async def there(job_id: str) -> bool:
        return bool(await hm.store.read_job("prune", job_id, include_expired=True))

    assert await hm.prune(retention=3600) == {"jobs": 1, "signals": 0}
    assert [await there(j) for j in (old, long_runner, new)] == [False, True, True]
    # one at a time, the job created first goes first
    assert await hm.store.prune("prune", 0, 1) == (1, 0)
    assert [await there(j) for j in (long_runner, new)] == [False, True]


class WatchedClock(ManualClock):
    """A ``ManualClock`` that tells the test each wait asked of it: the
    pruning's pauses (real cap ``PAUSE_CAP``) and its interval (cap ``every``)."""

    def __init__(self) -> None:
        super().__init__()
        #: (seconds asked, real cap) of each wait, in order
        self.asked: list[tuple[float, float]] = []
        self.changes = Changes()

    def pauses(self) -> list[float]:
        return [seconds for seconds, cap in self.asked if cap == upkeep.PAUSE_CAP]

    async def sleep_until(self, when: datetime, cap: float) -> None:
        self.asked.append(((when - self.now()).total_seconds(), cap))
        self.changes.changed()
        await super().sleep_until(when, cap)


async def _quick_jobs(hm: HotMesh, n: int) -> list[str]:
    return [
        (await hm.pubsub("quick", {"n": i}, timeout=10))["metadata"]["jid"]
        for i in range(n)
    ]


async def test_a_paced_pass_prunes_a_backlog_in_batches_waiting_on_the_clock(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await mesh("prune", retention=None)
    await hm.deploy(APP)
    await hm.activate("1")
    await _quick_jobs(hm, 7)
    clock, batches = WatchedClock(), []
    ticks = iter(range(100))
    # each statement "takes" 0.25 s; the consumers are half full: 4 * 0.25 * 1.5
    pacing = upkeep.Pacing(batch=3, pace=4.0, max_pause=5.0)
    task = asyncio.create_task(
        upkeep.prune_paced(
            hm.store,
            "prune",
            0,
            pacing,
            clock,
            busy=lambda: 0.5,
            progress=lambda jobs, signals: batches.append(jobs),
            timer=lambda: next(ticks) * 0.25,
        )
    )
    left = "SELECT count(*) FROM hotmesh.jobs WHERE topic = 'quick'"
    for done in (1, 2):
        await clock.changes.until(lambda n=done: len(clock.asked) == n, 10, "a pause")
        # the pass waits on the clock, which stands still, after each full batch
        assert clock.pauses() == [1.5] * done
        assert batches == [3, 6][:done]
        assert await _count(pg_dsn, left) == 7 - 3 * done
        assert not task.done()
        clock.advance(1.5)
    assert await asyncio.wait_for(task, 10) == {"jobs": 7, "signals": 0}
    assert batches == [3, 6, 7]  # three statements, no pause after the short one
    assert len(clock.asked) == 2
    assert await _count(pg_dsn, left) == 0


async def test_the_engine_prunes_with_its_pacing_options_and_stop_interrupts_a_pause(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    maker = await mesh("prune", retention=None)  # makes the backlog, prunes not
    await maker.deploy(APP)
    await maker.activate("1")
    await _quick_jobs(maker, 5)
    await maker.stop()
    clock = WatchedClock()
    hm = await mesh(
        "prune",
        retention=0,
        prune_interval=0.01,
        prune_batch=2,
        prune_pace=1000.0,
        clock=clock,
    )
    # after its first batch, the pass pauses on the clock, which stands still
    await clock.changes.until(lambda: bool(clock.pauses()), 10, "a paced pause")
    assert 0 < clock.pauses()[0] <= 5.0  # the default prune_max_pause caps it
    left = await _count(pg_dsn, "SELECT count(*) FROM hotmesh.jobs")
    assert left == 3
    # stop() does not wait out the pause (its real cap is a minute)
    await asyncio.wait_for(hm.stop(), 10)
    assert await _count(pg_dsn, "SELECT count(*) FROM hotmesh.jobs") == left


async def test_a_failing_pass_is_logged_and_the_next_one_prunes(
    mesh: MeshFactory, pg_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    hm = await mesh("prune", retention=0, prune_interval=0.05)
    await hm.deploy(APP)
    await hm.activate("1")
    refuse = await asyncpg.connect(pg_dsn)
    try:
        await refuse.execute(
            "CREATE FUNCTION hotmesh.refuse() RETURNS trigger LANGUAGE plpgsql AS"
            " $$BEGIN RAISE EXCEPTION 'pruning refused'; END$$;"
            " CREATE TRIGGER refuse BEFORE DELETE ON hotmesh.jobs"
            " FOR EACH ROW EXECUTE FUNCTION hotmesh.refuse()"
        )
        (job_id,) = await _quick_jobs(hm, 1)

        def warned() -> bool:
            return any(
                "app prune: pruning failed: pruning refused" in r.getMessage()
                and r.levelname == "WARNING"
                for r in caplog.records
            )

        await until_notified(pg_dsn, warned, 10, "the failed pass logged")
        await refuse.execute("DROP TRIGGER refuse ON hotmesh.jobs")
    finally:
        await refuse.close()

    async def gone() -> bool:
        return await hm.store.read_job("prune", job_id, include_expired=True) is None

    await until_notified(pg_dsn, gone, 10, f"job {job_id} pruned after the failure")
