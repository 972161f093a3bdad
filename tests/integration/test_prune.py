"""Pruning: rows of jobs expired longer than ``retention`` ago, and early signals
past their expiry, are deleted; live and recently expired jobs are not."""

from __future__ import annotations

import asyncpg
import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory
from tests.waiting import until_notified

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
