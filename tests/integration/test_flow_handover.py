"""Work handed over pre-claimed within flow limits (flow_grant, issue 17).

A step's work for a worker of its own process is inserted already claimed by
it when the topic's limits leave room, as for a topic without limits; never
past a limit, never ahead of work that waits, and never leaking a slot.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hotmesh import HotMesh
from hotmesh.store.records import NewMessage, worker_stream
from tests.integration.conftest import MeshFactory
from tests.integration.test_flow_limits import Ledger, _deployed

STREAM = worker_stream("flow.work")


def mine(topic: str = "flow.work", **fields: Any) -> NewMessage:
    """Work as the engine inserts it for a worker of its own process."""
    return NewMessage(worker_stream(topic), "worker", {}, reserved_by="me", **fields)


async def _insert(client: HotMesh, *messages: NewMessage) -> list[int]:
    """Insert ``messages``; the indexes of those inserted pre-claimed."""
    async with client.store.transaction() as tx:
        handed = await tx.insert_messages("flow", list(messages))
    guids = {m.payload["guid"] for m in handed}
    return [n for n, m in enumerate(messages) if m.guid in guids]


async def _expire(client: HotMesh, owner: str) -> None:
    """``owner`` died: its claims run out (as when it stops beating)."""
    async with client.store.transaction() as tx:
        await tx._conn.execute(
            "UPDATE hotmesh.messages SET reserved_until = now() - interval '1 second' "
            "WHERE reserved_by = $1",
            owner,
        )


#: a topic-wide limit keeps room for the 15 other hand-overs that may run at
#: once (each holding one of the stream's 16 gates): with 17 slots, a message
#: is handed over while at most one runs
LIMIT = 17


async def test_work_is_handed_over_only_while_the_topic_limit_has_room(
    mesh: MeshFactory,
) -> None:
    client = await _deployed(mesh)
    await client.set_topic_limits("flow.work", concurrency=LIMIT)
    # one message per statement under a topic-wide limit; the other waits
    assert await _insert(client, mine(), mine()) == [0]
    await client.store.claim("flow", STREAM, "me", 30.0, 1)  # as our consumer would
    assert await _insert(client, mine()) == []  # no room for 15 others and this one
    # a topic without limits is handed over as before, in the same statement
    assert await _insert(client, mine(), mine("other.work")) == [1]
    listed = (await client.topic_limits())["flow.work"]
    assert (listed["running"], listed["waiting"]) == (2, 2)
    # a claim takes what the limit really leaves (17 - 2), by one lock for all
    claimed = await client.store.claim("flow", STREAM, "other", 30.0, 20)
    assert len(claimed.messages) == 2 and not claimed.limited
    # a small limit never leaves room for 15 others: its work waits for claims
    await client.set_topic_limits("flow.work", concurrency=3)
    assert await _insert(client, mine()) == []
    # removing the limits hands everything over again
    await client.set_topic_limits("flow.work")
    assert await _insert(client, mine(), mine()) == [0, 1]


async def test_a_free_slot_goes_to_waiting_work_before_new_work_unless_more_urgent(
    mesh: MeshFactory,
) -> None:
    client = await _deployed(mesh)
    await client.set_topic_limits("flow.work", concurrency=LIMIT)
    assert await _insert(client, mine(), mine()) == [0]
    # room, but older work waits: new work of the same priority queues behind it
    assert await _insert(client, mine()) == []
    # more urgent work would be claimed first anyway: it is handed over
    assert await _insert(client, mine(priority=5)) == [0]
    assert await _insert(client, mine(priority=5)) == []  # no room left for it


async def test_a_dead_processs_handed_over_slots_come_back_when_its_claims_expire(
    mesh: MeshFactory,
) -> None:
    client = await _deployed(mesh)
    await client.set_topic_limits("flow.work", concurrency=LIMIT)
    assert await _insert(client, mine()) == [0]
    assert await _insert(client, mine()) == [0]
    assert await _insert(client, mine()) == []
    await _expire(client, "me")  # "me" was SIGKILLed: it never acks
    # its expired work is older than new work: a claim takes it again first
    assert await _insert(client, mine()) == []
    taken = await client.store.claim("flow", STREAM, "alive", 30.0, 10)
    assert [m.attempts for m in taken.messages] == [2, 2, 1, 1]
    # the slots of the dead claims are free again: 4 run, all held by "alive"
    listed = (await client.topic_limits())["flow.work"]
    assert (listed["running"], listed["waiting"]) == (4, 0)


async def test_keyed_limits_hand_over_per_key_without_holding_back_other_keys(
    mesh: MeshFactory,
) -> None:
    client = await _deployed(mesh)  # keyed.work: a limit of 1 per customer
    k = "keyed.work"
    assert await _insert(
        client, mine(k, ckey="a"), mine(k, ckey="a"), mine(k, ckey="b")
    ) == [0, 2]
    assert await _insert(client, mine(k, ckey="b"), mine(k, ckey="c")) == [1]
    # "a" has work waiting: a new "a" queues behind it even once "a" is free
    oldest = min(
        r["id"]
        for r in await client.store._pool.fetch(
            "SELECT id FROM hotmesh.messages WHERE ckey = 'a' AND reserved_by = 'me'"
        )
    )
    assert await client.store.ack(oldest, "me")
    assert await _insert(client, mine(k, ckey="a"), mine(k, ckey="d")) == [1]


async def test_rate_limited_hand_overs_count_as_starts(mesh: MeshFactory) -> None:
    client = await _deployed(mesh)
    # room for 15 other hand-overs and this one: 2 of 17 starts are handed over
    await client.set_topic_limits("flow.work", rate={"limit": LIMIT, "period": "1h"})
    assert await _insert(client, mine()) == [0]
    assert await _insert(client, mine()) == [0]
    assert await _insert(client, mine()) == []
    # the claim counts the hand-overs' starts: 15 more in this window, no more
    claimed = await client.store.claim("flow", STREAM, "other", 30.0, 30)
    assert len(claimed.messages) == 1 and not claimed.limited
    assert await _insert(client, *(mine() for _ in range(20))) == []
    claimed = await client.store.claim("flow", STREAM, "other", 30.0, 30)
    assert len(claimed.messages) == 14 and claimed.limited
    assert claimed.wait is not None and claimed.wait > 3000


async def test_work_under_a_limit_never_reached_starts_without_a_claim(
    mesh: MeshFactory,
) -> None:
    ledger = Ledger()
    client = await _deployed(mesh, poll=60.0)  # a missed wake-up would wait 60 s
    await client.set_topic_limits("flow.work", concurrency=LIMIT)
    client.add_worker({"topic": "flow.work", "callback": ledger.worker(hold=0)})
    for n in range(5):  # one at a time: each is the only work there is
        out = await client.pubsub("flow.start", {"n": n}, timeout=30)
        assert out["data"]["n"] == n
    assert client.engine.limited_streams == {}  # never refused: all handed over


async def test_work_past_a_reached_limit_is_announced_and_still_all_runs(
    mesh: MeshFactory,
) -> None:
    ledger = Ledger()
    ledger.expected = 12
    client = await _deployed(mesh, poll=60.0)
    await client.set_topic_limits("flow.work", concurrency=1)
    client.add_worker({"topic": "flow.work", "callback": ledger.worker(hold=0.05)})
    await asyncio.gather(*(client.pub("flow.start", {"n": n}) for n in range(12)))
    await asyncio.wait_for(ledger.finished.wait(), 60)
    assert ledger.peak == 1
    # refused once at least: the topic's work went out announced for a while
    assert worker_stream("flow.work") in client.engine.limited_streams
    await client.set_topic_limits("flow.work")
    assert client.engine.limited_streams == {}
