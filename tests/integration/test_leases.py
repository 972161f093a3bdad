"""Claims: a heartbeat keeps long callbacks from running twice; poison messages end."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from hotmesh.engine.router import Consumer
from hotmesh.store.records import Message
from tests.integration.conftest import MeshFactory
from tests.waiting import Changes, until_notified

APP = """
app:
  id: lease
  version: '1'
  graphs:
    - subscribes: slow
      activities:
        t: {type: trigger, stats: {id: '{$self.input.data.id}'}}
        w: {type: worker, topic: slow.work, job: {maps: {ok: '{$self.output.data.ok}'}}}
      transitions:
        t: [{to: w}]
"""


async def test_a_callback_longer_than_its_lease_runs_once(mesh: MeshFactory) -> None:
    calls: list[int] = []

    async def slow(message: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        # the work itself, four lease lengths long: leases run out in the
        # database's time (now()), which no injected clock moves
        await asyncio.sleep(1.2)
        return {"data": {"ok": True}}

    hm = await mesh(
        "lease",
        workers=[{"topic": "slow.work", "callback": slow}],
        lease=0.3,
        poll=0.05,
    )
    # a second process polls the same stream, ready to steal an expired claim
    other = await mesh(
        "lease",
        workers=[{"topic": "slow.work", "callback": slow}],
        lease=0.3,
        poll=0.05,
    )
    await hm.deploy(APP)
    await hm.activate("1")
    await other.activate("1")
    out = await hm.pubsub("slow", {"id": "s1"}, timeout=10)
    assert out["data"]["ok"] is True
    assert len(calls) == 1


async def test_a_message_claimed_too_often_becomes_a_job_error(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    calls: list[int] = []

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        return {"data": {"ok": True}}

    hm = await mesh("lease", poison_threshold=3)
    await hm.deploy(APP)
    await hm.activate("1")
    await hm.pub("slow", {"id": "p1"})
    # three processes claimed the work message and died before answering
    for n in range(3):
        claimed = await hm.store.claim("lease", "w:slow.work", f"dead-{n}", 0.0, 10)
        assert len(claimed.messages) == 1
    survivor = await mesh(
        "lease", workers=[{"topic": "slow.work", "callback": work}], poison_threshold=3
    )

    async def finished() -> bool:
        return await survivor.get_status("p1") == 0

    await until_notified(pg_dsn, finished, 10, "job p1 ended by the poison rule")
    state = await survivor.get_state("slow", "p1")
    assert "poison message: claimed 4 times" in state["metadata"]["err"]
    assert calls == []  # the callback is not run a fourth time


async def _insert(conn: asyncpg.Connection, stream: str) -> int:
    return int(
        await conn.fetchval(
            "INSERT INTO hotmesh.messages (app_id, stream, type, payload) "
            "VALUES ('lease', $1, 'work', '{}') RETURNING id",
            stream,
        )
    )


async def test_a_message_reclaimed_by_its_own_process_while_it_runs_runs_once(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    """The heartbeat could not reach the database for a whole lease (a cut
    connection): the claim of a message still running here lapses, and this
    consumer's own next claim takes it back. It must not start it again (the
    chaos test's activities ran twice so); the unit test of this is
    tests/unit/engine/test_reclaimed_by_self.py, this one runs the real claim."""
    hm = await mesh("lease")
    calls: list[int] = []
    called = Changes()
    release = asyncio.Event()

    async def handle(msg: Message) -> None:
        calls.append(msg.id)
        called.changed()
        await release.wait()

    conn = await asyncpg.connect(pg_dsn)
    consumer = Consumer(hm.store, "lease", "w:own", "own-owner", handle, poll=0.05)
    try:
        first = await _insert(conn, "w:own")
        consumer.start()

        async def attempts(mid: int) -> int:
            return int(
                await conn.fetchval(
                    "SELECT attempts FROM hotmesh.messages WHERE id = $1", mid
                )
            )

        await called.until(lambda: calls == [first], 30, "the first message runs")

        async def taken_back() -> bool:
            """The lapse: its claim ran out while it runs here (made to lapse
            again until our claim took it back, whatever the heartbeat does)."""
            if await attempts(first) >= 2:
                return True
            await conn.execute(
                "UPDATE hotmesh.messages SET reserved_until = now() - "
                "interval '1 s' WHERE id = $1",
                first,
            )
            consumer.wake()
            return False

        # only the database tells that the claim took it back
        await until_notified(pg_dsn, taken_back, 30, "our claim takes it back")
        # a message sent after that claim: once it runs, the claim loop
        # has handled the reply that took the first one back
        second = await _insert(conn, "w:own")
        consumer.wake()
        await called.until(lambda: second in calls, 30, "the second message runs")
        assert calls.count(first) == 1
    finally:
        release.set()
        await consumer.stop(grace=5)
        await conn.close()


async def test_a_claim_reply_racing_the_ack_does_not_run_the_message_again(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    """Our claim takes back a lapsed message, and its handler here acks it
    before the claim's reply is read: the message is gone, not run again. One
    whose answer could not be written (still there, ours) is run again."""
    hm = await mesh("lease")
    calls: list[int] = []
    done: asyncio.Queue[int] = asyncio.Queue()

    async def handle(msg: Message) -> None:
        calls.append(msg.id)
        if msg.payload.get("ack", True):
            await hm.store.ack(msg.id, "race-owner")
        done.put_nowait(msg.id)

    conn = await asyncpg.connect(pg_dsn)
    consumer = Consumer(hm.store, "lease", "w:race", "race-owner", handle)
    try:
        acked = await _insert(conn, "w:race")
        kept = int(
            await conn.fetchval(
                "INSERT INTO hotmesh.messages (app_id, stream, type, payload) "
                """VALUES ('lease', 'w:race', 'work', '{"ack": false}') RETURNING id"""
            )
        )
        # the claim's reply, read only after both handlers ended here
        stale = await hm.store.claim("lease", "w:race", "race-owner", 30.0, 2)
        assert sorted(m.id for m in stale.messages) == [acked, kept]
        for msg in stale.messages:
            consumer.submit(msg)
        for _ in range(2):
            await asyncio.wait_for(done.get(), 30)
        for msg in stale.messages:
            consumer._claimed(msg)
        assert await asyncio.wait_for(done.get(), 30) == kept
        await asyncio.wait_for(asyncio.gather(*consumer.inflight), 30)
        assert sorted(calls) == sorted([acked, kept, kept])
    finally:
        await consumer.stop(grace=5)
        await conn.close()


async def test_claims_of_a_message_taken_back_while_it_ran_here_are_not_poison(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    """Each time our own claim took back a message still running here counted a
    claim in the database; when its answer could not be written and it runs
    here again, those claims are not attempts: it is not taken for poison."""
    hm = await mesh("lease")
    seen: list[tuple[int, int]] = []
    started = asyncio.Event()
    release = asyncio.Event()

    async def handle(msg: Message) -> None:
        seen.append((msg.id, msg.attempts))
        started.set()
        if len(seen) == 1:
            await release.wait()  # then ends without an answer (never acked)

    conn = await asyncpg.connect(pg_dsn)
    consumer = Consumer(hm.store, "lease", "w:retaken", "retaken-owner", handle)
    try:
        mid = await _insert(conn, "w:retaken")
        first = await hm.store.claim("lease", "w:retaken", "retaken-owner", 30.0, 1)
        consumer.submit(first.messages[0])
        await asyncio.wait_for(started.wait(), 30)
        for _ in range(3):  # the claim lapsed three times; our claim took it back
            await conn.execute(
                "UPDATE hotmesh.messages SET reserved_until = now() - interval "
                "'1 s' WHERE id = $1",
                mid,
            )
            again = await hm.store.claim("lease", "w:retaken", "retaken-owner", 30.0, 1)
            consumer._claimed(again.messages[0])
        assert seen == [(mid, 1)]  # not started again while it runs
        release.set()
        await asyncio.wait_for(asyncio.gather(*consumer.inflight), 30)
        await conn.execute(
            "UPDATE hotmesh.messages SET reserved_until = now() - interval '1 s' "
            "WHERE id = $1",
            mid,
        )
        last = await hm.store.claim("lease", "w:retaken", "retaken-owner", 30.0, 1)
        assert last.messages[0].attempts == 5  # in the database: every claim
        consumer._claimed(last.messages[0])
        await asyncio.wait_for(asyncio.gather(*consumer.inflight), 30)
        assert seen == [(mid, 1), (mid, 2)]  # its second attempt here
    finally:
        release.set()
        await consumer.stop(grace=5)
        await conn.close()
