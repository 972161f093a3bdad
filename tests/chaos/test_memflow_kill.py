"""MemFlow under kill chaos: workflows with activities, sleeps and signals in
flight, workflows steered by updates, signals and cancellations, and
heartbeating activities (some of them cancelled).

Three node processes run the workflows and their activities; one is SIGKILLed
about every second and restarted (and, for the heartbeating activities, one
kill is aimed at a node while such an activity runs there). Every workflow must finish with the right
result, no update may be applied twice, every cancellation runs its cleanup,
and an activity may run twice only when a kill cut its first run off.
``HOTMESH_LONG=1``: 600 workflows instead of 60, 60 steered instead of 16.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from hotmesh import MemFlow, errors
from tests.chaos.mf_node import CLEANUP, LEDGER, RECORDED
from tests.chaos.test_kill import Cluster
from tests.long import LONG

WORKFLOWS = 600 if LONG else 60
NODES = 3


@pytest.fixture
async def cluster(pg_dsn: str) -> AsyncIterator[Cluster]:
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(LEDGER)
    await conn.close()
    made = Cluster(pg_dsn, module="tests.chaos.mf_node")
    yield made
    await made.stop()


@pytest.mark.timeout(600 if LONG else 180)
async def test_memflow_survives_sigkills_with_sleeps_and_signals(
    pg_dsn: str, cluster: Cluster
) -> None:
    for _ in range(NODES):
        await cluster.start()
    client = MemFlow.Client({"connection": {"dsn": pg_dsn}})
    try:
        handles = []
        for i in range(WORKFLOWS):
            wid = f"mf-{i}"
            handles.append(
                await client.workflow.start(
                    args=[wid, i * 10],
                    task_queue="chaos",
                    workflow_name="chaotic",
                    workflow_id=wid,
                )
            )
            if i % 2:  # half the signals arrive before their wait registers
                await client.workflow.signal("go", {"k": 100}, workflow_id=wid)
        async with cluster.killing() as kills:  # the first lands as they run
            for i in range(0, WORKFLOWS, 2):
                await asyncio.sleep(0.01)  # spread the signals: kills land among them
                await client.workflow.signal("go", {"k": 100}, workflow_id=f"mf-{i}")
            results = await asyncio.wait_for(
                asyncio.gather(*(h.result() for h in handles)), 500 if LONG else 150
            )
    finally:
        await client.close()
    assert results == [i * 10 + 1 + 2 + 100 for i in range(WORKFLOWS)]  # nothing lost
    assert kills.count >= (5 if LONG else 1)
    conn = await asyncpg.connect(pg_dsn)
    try:
        calls = await conn.fetch(
            "SELECT workflow_id, step, pid FROM mf_calls ORDER BY id"
        )
    finally:
        await conn.close()
    runs: dict[tuple[str, int], list[int]] = {}
    for call in calls:
        runs.setdefault((call["workflow_id"], call["step"]), []).append(call["pid"])
    assert len(runs) == 2 * WORKFLOWS
    rerun = 0
    for pids in runs.values():
        assert all(pid in cluster.killed for pid in pids[:-1]), pids
        rerun += len(pids) > 1
    print(
        f"\nmemflow chaos: {WORKFLOWS} workflows, {kills.count} kills, lost 0, cut-off re-runs {rerun}"
    )


STEERED = 60 if LONG else 16
UPDATES = 3


async def _update(handle: Any, workflow_id: str, k: int) -> int:
    """``add(k)`` with a fixed update id, retried as a client would: a retry
    with the same id must not apply it a second time."""
    for _ in range(5):
        try:
            return int(
                await handle.execute_update(
                    "add", k, update_id=f"{workflow_id}-u{k}", timeout=30
                )
            )
        except errors.TimeoutError:
            continue
    raise AssertionError(f"update {k} of {workflow_id} never answered")


@pytest.mark.timeout(600 if LONG else 240)
async def test_updates_and_cancellations_survive_sigkills(
    pg_dsn: str, cluster: Cluster
) -> None:
    """Updates, cancellations and their cleanup in flight while nodes are killed:
    no update is applied twice, and every cancellation runs its cleanup once."""
    for _ in range(NODES):
        await cluster.start()
    client = MemFlow.Client({"connection": {"dsn": pg_dsn}})

    async def steer(i: int) -> tuple[list[int], Any]:
        wid = f"st-{i}"
        handle = await client.workflow.start(
            args=[wid], task_queue="steered", workflow_name="steered", workflow_id=wid
        )
        answers = [await _update(handle, wid, k) for k in range(UPDATES)]
        if i % 2:
            await handle.signal("finish")
        else:
            await handle.cancel("chaos test")
        try:
            return answers, await handle.result()
        except errors.WorkflowCancelledError as exc:
            return answers, exc

    try:
        async with cluster.killing() as kills:
            outcomes = await asyncio.wait_for(
                asyncio.gather(*(steer(i) for i in range(STEERED))),
                500 if LONG else 200,
            )
    finally:
        await client.close()
    for i, (answers, outcome) in enumerate(outcomes):
        # each update answered with the count after it: applied once, in order
        assert answers == list(range(1, UPDATES + 1)), (i, answers)
        if i % 2:
            assert outcome == list(range(UPDATES)), (i, outcome)
        else:
            assert isinstance(outcome, errors.WorkflowCancelledError), (i, outcome)
    assert kills.count >= 1
    conn = await asyncpg.connect(pg_dsn)
    try:
        calls = await conn.fetch(
            "SELECT workflow_id, step, pid FROM mf_calls WHERE workflow_id LIKE 'st-%'"
            " ORDER BY id"
        )
    finally:
        await conn.close()
    runs: dict[tuple[str, int], list[int]] = {}
    for call in calls:
        runs.setdefault((call["workflow_id"], call["step"]), []).append(call["pid"])
    # the cancelled ran their cleanup and only it; the finished their step only
    assert set(runs) == {(f"st-{i}", 1 if i % 2 else CLEANUP) for i in range(STEERED)}
    rerun = 0
    for pids in runs.values():
        # a cleanup (or step) ran twice only when a kill cut its first run off
        assert all(pid in cluster.killed for pid in pids[:-1]), pids
        rerun += len(pids) > 1
    print(
        f"\nmemflow steering chaos: {STEERED} workflows, {STEERED * UPDATES} updates,"
        f" {kills.count} kills, cut-off re-runs {rerun}"
    )


BEATING = 24 if LONG else 8
RECORDS = 120
#: the newest record of each workflow, and the progress its activity's last
#: heartbeat wrote to the database (what an attempt taken back resumes after)
PROGRESS = """
SELECT DISTINCT ON (r.workflow_id) r.workflow_id, r.pid, r.n,
       (h.details->>0)::int AS beat
  FROM mf_records r
  JOIN hotmesh.jobs j ON j.job_id = r.workflow_id
  JOIN hotmesh.activity_heartbeats h ON h.job = j.id
 WHERE r.workflow_id = ANY($1::text[])
 ORDER BY r.workflow_id, r.id DESC
"""


async def _cut_off_a_heartbeat(
    conn: asyncpg.Connection, cluster: Cluster, wids: list[str], heard: asyncio.Event
) -> tuple[str, int]:
    """SIGKILL a node while one of ``wids``' activities runs there with its
    progress heartbeated to the database; returns the workflow and that
    progress. The node is frozen (SIGSTOP) first, so what the database shows
    then (its record is the newest, and not the last) still holds when the
    kill lands. ``heard`` is set at each record written."""
    async with asyncio.timeout(120):
        while True:
            heard.clear()  # before the read: a record during it is kept
            for row in await conn.fetch(PROGRESS, wids):
                if not row["beat"] or row["n"] >= RECORDS:
                    continue
                node = next((p for p in cluster.procs if p.pid == row["pid"]), None)
                if node is None or node.returncode is not None:
                    continue
                node.send_signal(signal.SIGSTOP)
                (now,) = await conn.fetch(PROGRESS, [row["workflow_id"]])
                if now["pid"] == node.pid and now["n"] < RECORDS and now["beat"]:
                    await cluster.kill(node)
                    return str(row["workflow_id"]), int(now["beat"])
                node.send_signal(signal.SIGCONT)  # another node took it over
            await heard.wait()


@pytest.mark.timeout(600 if LONG else 240)
async def test_heartbeating_activities_resume_and_hear_cancels_under_sigkills(
    pg_dsn: str, cluster: Cluster
) -> None:
    """Heartbeating activities in flight while nodes are killed: an attempt
    taken back from a killed node resumes after the last heartbeat written (a
    record runs again only when a kill cut its run off), and a cancelled
    workflow's activity stops at its heartbeat.

    One kill is aimed (an activity with heartbeated progress runs on the
    node), the others land at random."""
    for _ in range(NODES):
        await cluster.start()
    client = MemFlow.Client({"connection": {"dsn": pg_dsn}})
    listener = await asyncpg.connect(pg_dsn)
    conn = await asyncpg.connect(pg_dsn)
    seen: dict[str, int] = {}
    started = {f"hb-{i}": asyncio.Event() for i in range(BEATING)}
    heard = asyncio.Event()

    def recorded(*args: Any) -> None:
        wid = str(args[3])
        seen[wid] = seen.get(wid, 0) + 1
        heard.set()
        if seen[wid] >= 5 and wid in started:
            started[wid].set()

    await listener.add_listener(RECORDED, recorded)

    async def run(i: int) -> Any:
        wid = f"hb-{i}"
        handle = await client.workflow.start(
            args=[wid, RECORDS],
            task_queue="beating",
            workflow_name="beating",
            workflow_id=wid,
        )
        if i % 2 == 0:
            await asyncio.wait_for(started[wid].wait(), 120)  # 5 records done
            await handle.cancel("chaos test")
        try:
            return await handle.result()
        except errors.WorkflowCancelledError as exc:
            return exc

    loop = asyncio.get_running_loop()
    runs = [loop.create_task(run(i)) for i in range(BEATING)]
    try:
        finishing = [f"hb-{i}" for i in range(1, BEATING, 2)]
        aimed, beat = await _cut_off_a_heartbeat(conn, cluster, finishing, heard)
        async with cluster.killing() as kills:
            outcomes = await asyncio.wait_for(
                asyncio.gather(*runs), 500 if LONG else 200
            )
        rows = await conn.fetch(
            "SELECT workflow_id, n, pid, attempt FROM mf_records ORDER BY id"
        )
    finally:
        for task in runs:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        await client.close()
        await listener.close()
        await conn.close()
    runs_of: dict[tuple[str, int], list[int]] = {}
    for row in rows:
        runs_of.setdefault((row["workflow_id"], row["n"]), []).append(row["pid"])
    resumed = 0
    for i, outcome in enumerate(outcomes):
        wid = f"hb-{i}"
        done = {n for (w, n) in runs_of if w == wid}
        if i % 2:
            assert isinstance(outcome, dict), (i, outcome)
            assert done == set(range(1, RECORDS + 1)), (i, sorted(done))  # none lost
            resumed += outcome["resumed_after"] > 0
        else:
            assert isinstance(outcome, errors.WorkflowCancelledError), (i, outcome)
            assert len(done) < RECORDS, (i, len(done))  # stopped at a heartbeat
    for pids in runs_of.values():
        # a record ran again only when a kill cut off the attempt that ran it
        assert all(pid in cluster.killed for pid in pids[:-1]), pids
    assert kills.count >= 1
    # the aimed kill cut an activity off after it heartbeated `beat` records:
    # the attempt that finished it started from there, not from the start
    finished = outcomes[int(aimed.removeprefix("hb-"))]
    assert finished["resumed_after"] >= beat >= 1, (aimed, beat, finished)
    print(
        f"\nmemflow heartbeat chaos: {BEATING} workflows, {kills.count} kills, "
        f"{resumed} finished after resuming from heartbeat details"
    )
