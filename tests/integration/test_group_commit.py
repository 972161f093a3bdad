"""Group commit across jobs (issue 21): writes of several jobs that are ready
while a commit is in flight commit together in one transaction; a write that
fails there gets its own error and loses none of its neighbours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh, errors
from hotmesh.store.group import GroupCommit
from hotmesh.store.postgres import PostgresStore
from tests.integration.conftest import MeshFactory
from tests.integration.test_state_cache import APP as PAIR

APP = """
app:
  id: gc
  version: '1'
  graphs:
    - subscribes: gc.go
      expire: 300
      activities:
        t1:
          type: trigger
          job:
            maps:
              parsed:
                '@pipe':
                  - ['{t1.output.data.json}']
                  - ['{@json.parse}']
"""


async def until(condition: Callable[[], bool], what: str) -> None:
    """Yield to the loop until ``condition()`` holds (at most 10 s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0)


class Lane:
    """Holds the only lane of ``commits`` until ``free()``: what arrives
    meanwhile queues for the next batch."""

    def __init__(self, commits: GroupCommit) -> None:
        self.commits = commits
        self.commits.lanes = 1
        self.event = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None

    async def hold(self) -> None:
        async def blocker(conn: Any) -> Any:
            await self.event.wait()
            return await conn.fetch("SELECT 1")

        self.task = asyncio.create_task(self.commits.run(blocker, ""))
        await until(lambda: self.commits.busy == 1, "the lane to be held")

    async def free(self) -> None:
        self.event.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)


@pytest.fixture
async def store(pg_dsn: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(pg_dsn, pool_size=4)
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("CREATE TABLE t (n int PRIMARY KEY)")
    finally:
        await conn.close()
    yield opened
    await opened.close()


def insert(n: int, fail: bool = False) -> Callable[[Any], Any]:
    """A write that inserts ``n`` and returns its transaction's id (and then
    fails when ``fail``, its row written: it must be rolled back)."""

    async def write(conn: Any) -> int:
        await conn.execute("INSERT INTO t VALUES ($1)", n)
        rows = await conn.fetch("SELECT txid_current() AS x")
        if fail:
            await conn.fetch("SELECT 1 / 0")
        return int(rows[0]["x"])

    return write


async def test_writes_ready_together_commit_in_one_transaction(
    store: PostgresStore,
) -> None:
    lane = Lane(store.commits)
    await lane.hold()
    writes = [
        asyncio.create_task(store.commits.run(insert(n), f"j{n}")) for n in range(6)
    ]
    await until(lambda: len(store.commits.queue) == 6, "six queued writes")
    await lane.free()
    txids = await asyncio.wait_for(asyncio.gather(*writes), 10)
    assert len(set(txids)) == 1  # one transaction for the six
    assert (store.commits.batches, store.commits.batched) == (1, 6)
    rows = await store._pool.fetch("SELECT n FROM t ORDER BY n")
    assert [r["n"] for r in rows] == list(range(6))


@pytest.mark.parametrize("failing", [(2,), (2, 4)])
async def test_a_failing_write_loses_none_of_its_neighbours(
    store: PostgresStore, failing: tuple[int, ...]
) -> None:
    """The batch rolls back at the first failure and runs again without it,
    each write in a savepoint: a second failure costs no third round."""
    lane = Lane(store.commits)
    await lane.hold()
    writes = {
        n: asyncio.create_task(store.commits.run(insert(n, n in failing), f"j{n}"))
        for n in range(1, 6)
    }
    await until(lambda: len(store.commits.queue) == 5, "five queued writes")
    await lane.free()
    for n in failing:
        with pytest.raises(errors.InvalidDataError, match="division by zero"):
            await asyncio.wait_for(writes[n], 10)
    ok = [n for n in writes if n not in failing]
    txids = await asyncio.wait_for(asyncio.gather(*(writes[n] for n in ok)), 10)
    assert len(set(txids)) == 1  # the others, still together
    assert (store.commits.batches, store.commits.batched) == (1, len(ok))
    rows = await store._pool.fetch("SELECT n FROM t ORDER BY n")
    assert [r["n"] for r in rows] == ok  # the failed ones' rows rolled back


async def test_a_write_alone_commits_at_once_without_a_transaction_block(
    store: PostgresStore,
) -> None:
    txid = await store.commits.run(insert(7), "j7")
    # autocommitted statements: the insert and the read are two transactions
    assert txid > 0 and store.commits.batches == 0 and store.commits.busy == 0


async def _jobs_by_xmin(dsn: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT job_id, xmin::text AS x FROM hotmesh.jobs")
    finally:
        await conn.close()
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["x"], []).append(row["job_id"])
    return out


async def _app(mesh: MeshFactory, **engine: Any) -> HotMesh:
    hm = await mesh("gc", **engine)
    await hm.deploy(APP)
    await hm.activate("1")
    await hm.pub("gc.go", {"json": "1"})  # the plan loaded
    return hm


async def test_jobs_published_together_share_one_commit(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await _app(mesh, group_commit=True)
    lane = Lane(hm.store.commits)
    await lane.hold()
    pubs = [asyncio.create_task(hm.pub("gc.go", {"json": str(n)})) for n in range(8)]
    await until(lambda: len(hm.store.commits.queue) == 8, "eight queued jobs")
    await lane.free()
    ids = await asyncio.wait_for(asyncio.gather(*pubs), 10)
    by_xmin = await _jobs_by_xmin(pg_dsn)
    assert sorted(len(ids) for ids in by_xmin.values()) == [1, 8]
    assert sorted(ids) in [sorted(same) for same in by_xmin.values()]
    for n, jid in enumerate(ids):
        assert (await hm.get_state("gc.go", jid))["data"]["parsed"] == n


async def test_a_failing_step_in_a_batch_fails_alone(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    """A step whose value the database refuses (an escaped NUL parsed into the
    job) fails its own job: the others of its batch are written."""
    hm = await _app(mesh, group_commit=True)
    lane = Lane(hm.store.commits)
    await lane.hold()
    texts = ["1", '"\\u0000"', "3"]
    pubs = [asyncio.create_task(hm.pub("gc.go", {"json": t})) for t in texts]
    await until(lambda: len(hm.store.commits.queue) == 3, "three queued jobs")
    await lane.free()
    with pytest.raises(errors.InvalidDataError, match="database refused a value"):
        await asyncio.wait_for(pubs[1], 10)
    await asyncio.wait_for(asyncio.gather(pubs[0], pubs[2]), 10)
    # one commit for the two (run again in savepoints: their rows' xmin are
    # the savepoints' own ids)
    assert (hm.store.commits.batches, hm.store.commits.batched) == (1, 2)
    by_xmin = await _jobs_by_xmin(pg_dsn)
    assert sum(len(same) for same in by_xmin.values()) == 3  # and the warm-up
    for n, jid in ((1, pubs[0].result()), (3, pubs[2].result())):
        assert (await hm.get_state("gc.go", jid))["data"]["parsed"] == n


async def test_group_commit_off_commits_each_job_alone(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await _app(mesh, group_commit=False)
    assert hm.store.commits.enabled is False
    await asyncio.wait_for(
        asyncio.gather(*(hm.pub("gc.go", {"json": str(n)}) for n in range(8))),
        10,
    )
    by_xmin = await _jobs_by_xmin(pg_dsn)
    assert len(by_xmin) == 9 and hm.store.commits.batches == 0


async def test_a_stale_state_in_a_batch_sends_only_its_job_to_the_locking_path(
    mesh: MeshFactory,
) -> None:
    """Four jobs' hook steps wait for one commit; one job's cached state is
    stale (the state from before its last step, put back): its write is
    refused (HM409) and it runs again from the locked row, while the three
    others commit together."""
    answer = asyncio.Event()

    async def busy(_data: dict[str, Any]) -> dict[str, Any]:
        await answer.wait()  # keeps every job running, so its state cached
        return {"data": {}}

    hm = await mesh(
        "fanin", workers=[{"topic": "busy", "callback": busy}], group_commit=True
    )
    await hm.deploy(PAIR)
    await hm.activate("1")
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await hm.sub("pair.out", lambda _t, out: events.put_nowait(out))
    ids = [await hm.pub("pair", {}) for _ in range(4)]
    stale = hm.engine.states.get(ids[0])
    assert stale is not None
    for n, jid in enumerate(ids):
        await hm.signal("sa", {"id": jid, "v": f"a{n}"})
    for _ in ids:  # each ha emits once its step committed
        assert (await asyncio.wait_for(events.get(), 10))["metadata"]["js"] > 0
    hm.engine.states._jobs[ids[0]] = stale
    lane = Lane(hm.store.commits)
    await lane.hold()
    for n, jid in enumerate(ids):
        await hm.signal("sb", {"id": jid, "v": f"b{n}"})
    await until(lambda: len(hm.store.commits.queue) == 4, "four queued steps")
    # the ha steps above may have shared a commit already: count from here
    batches, batched = hm.store.commits.batches, hm.store.commits.batched
    await lane.free()
    await until(lambda: hm.store.commits.batches == batches + 1, "the batch to commit")
    assert hm.store.commits.batched - batched == 3  # the stale one left the batch
    answer.set()
    done = {}
    for _ in ids:
        out = await asyncio.wait_for(events.get(), 10)
        assert out["metadata"]["js"] == 0
        done[out["metadata"]["jid"]] = out["data"]
    assert done == {jid: {"a": f"a{n}", "b": f"b{n}"} for n, jid in enumerate(ids)}


async def test_a_cancelled_write_neither_commits_nor_keeps_the_lane(
    store: PostgresStore,
) -> None:
    lane = Lane(store.commits)
    await lane.hold()
    writes = {
        n: asyncio.create_task(store.commits.run(insert(n), f"j{n}")) for n in (1, 2, 3)
    }
    await until(lambda: len(store.commits.queue) == 3, "three queued writes")
    writes[2].cancel()
    await lane.free()
    assert (
        len(set(await asyncio.wait_for(asyncio.gather(writes[1], writes[3]), 10))) == 1
    )
    assert writes[2].cancelled() and store.commits.busy == 0
    assert await store.commits.run(insert(4), "j4") > 0  # the lane is free again
    rows = await store._pool.fetch("SELECT n FROM t ORDER BY n")
    assert [r["n"] for r in rows] == [1, 3, 4]


def update(n: int) -> Callable[[Any], Any]:
    """A write that locks row ``n`` of ``t``."""

    async def write(conn: Any) -> str:
        await conn.execute("UPDATE t SET n = n WHERE n = $1", n)
        return f"updated {n}"

    return write


async def until_waiting(store: PostgresStore) -> None:
    """Until a backend of the test's database waits for a row lock (the
    server's own state: polled, at most 10 s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    query = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while not await store._pool.fetchval(query):
        assert loop.time() < deadline, "the batch never waited for row 2"
        await asyncio.sleep(0.01)


async def row_two_held(
    store: PostgresStore, other: asyncpg.Connection
) -> tuple[Lane, asyncio.Task[Any], asyncio.Task[Any], Any]:
    """Rows 1 and 2; the only lane held; updates of row 1 and of row 2 queued
    for the next batch; and a transaction of ``other`` holding row 2."""
    await store._pool.execute("INSERT INTO t VALUES (1), (2)")
    lane = Lane(store.commits)
    await lane.hold()
    first = asyncio.create_task(store.commits.run(update(1), "a"))
    second = asyncio.create_task(store.commits.run(update(2), "b"))
    await until(lambda: len(store.commits.queue) == 2, "two queued writes")
    tx = other.transaction()
    await tx.start()
    await other.execute("UPDATE t SET n = n WHERE n = 2")
    return lane, first, second, tx


async def test_a_deadlocked_batch_runs_its_victim_again_alone(
    store: PostgresStore, pg_dsn: str
) -> None:
    """A batch can hold its locks in another order than a transaction of
    another process (a keyed flow limit's gate): the write that PostgreSQL
    picks as the deadlock's victim is no fault of its own, and runs again
    alone instead of failing."""
    other = await asyncpg.connect(pg_dsn)
    try:
        await other.execute("SET deadlock_timeout = '60s'")  # the batch detects it
        lane, first, second, tx = await row_two_held(store, other)
        await lane.free()
        # once the batch holds row 1 and waits for row 2, waiting for row 1
        # here closes the cycle, and the batch (the first to look) is the victim
        await until_waiting(store)
        await asyncio.wait_for(other.execute("UPDATE t SET n = n WHERE n = 1"), 30)
        await tx.commit()
        results = await asyncio.wait_for(asyncio.gather(first, second), 30)
        assert results == ["updated 1", "updated 2"]
        assert store.commits.batches == 0  # both ran alone in the end
    finally:
        await other.close()


async def test_a_batch_never_waits_on_a_lock_whose_holder_waits_for_the_lane(
    store: PostgresStore, pg_dsn: str
) -> None:
    """A cycle PostgreSQL sees only half of: a batch waits for a row that a
    transaction holds, and that transaction commits only once a write of
    its own has passed through the (only) lane. The batch stops waiting
    after its lock timeout; its other write commits, the lane goes on to
    the holder's write, and the write that waited runs again alone and
    takes the row once it is free. With no lock timeout this never ends."""
    store.commits.lock_timeout = 0.2
    store.commits.max_batch = 2  # the holder's write must wait for a next batch
    other = await asyncpg.connect(pg_dsn)
    try:
        lane, first, second, tx = await row_two_held(store, other)

        async def holder() -> int:
            txid = await store.commits.run(insert(3), "c")  # behind the batch
            await tx.commit()
            return txid

        held = asyncio.create_task(holder())
        await until(lambda: len(store.commits.queue) == 3, "the holder's write")
        await lane.free()
        done = await asyncio.wait_for(asyncio.gather(first, second, held), 20)
        assert done[:2] == ["updated 1", "updated 2"]
        assert store.commits.batches == 0  # the batch of two never committed
        rows = await store._pool.fetch("SELECT n FROM t ORDER BY n")
        assert [r["n"] for r in rows] == [1, 2, 3]
    finally:
        await other.close()
