"""A message whose claim lapsed while this process still ran it, and which the
claim query then handed back to this same process, runs once, not twice (a
doubled worker callback seen in the connection-cut chaos test under load)."""

from __future__ import annotations

import asyncio
from typing import Any

from hotmesh.engine.router import Consumer
from hotmesh.store.records import Claimed, Message
from tests.waiting import Changes


class Store:
    """Claims return the same message twice, as after a lapsed claim."""

    def __init__(self, msg: Message) -> None:
        self.batches = [[msg], [msg]]
        self.claims = 0
        self.reclaimed = asyncio.Event()
        #: told at each claim and each run (the tests wait on counts of them)
        self.changes = Changes()

    async def claim(self, *_: Any) -> Claimed:
        self.claims += 1
        self.changes.changed()
        if self.batches:
            batch = self.batches.pop(0)
            if not self.batches:
                self.reclaimed.set()
            return Claimed(batch)
        return Claimed([])

    async def next_due(self, *_: Any) -> list[float]:
        return []

    async def extend_leases(self, *_: Any) -> None:
        return None

    async def renew_claims(self, ids: list[int], *_: Any) -> list[int]:
        return ids


async def test_a_message_claimed_again_by_its_own_process_runs_once() -> None:
    msg = Message(id=7, type="worker", payload={})
    store = Store(msg)
    release = asyncio.Event()
    runs: list[int] = []

    async def handle(m: Message) -> None:
        runs.append(m.id)
        store.changes.changed()
        await release.wait()  # still running when the second claim returns it

    consumer = Consumer(store, "app", "w:topic", "me", handle, poll=0.01)  # type: ignore[arg-type]
    consumer.start()
    await asyncio.wait_for(store.reclaimed.wait(), 10)
    consumer.wake()
    # let the loop hand the second claim's batch over before releasing
    await store.changes.until(lambda: store.claims >= 3, 10, "a third claim")
    release.set()
    await consumer.stop(grace=10)
    assert runs == [7]
    assert consumer.held == {}


async def test_a_message_claimed_again_after_it_finished_runs_again() -> None:
    """Once the first run is over (its ack failed and it gave up), a later
    claim of the same message is a new delivery and runs."""
    msg = Message(id=8, type="worker", payload={})
    store = Store(msg)
    runs: list[int] = []
    first_done = asyncio.Event()

    async def handle(m: Message) -> None:
        runs.append(m.id)
        store.changes.changed()
        first_done.set()

    store.batches = [[msg]]
    consumer = Consumer(store, "app", "w:topic", "me", handle, poll=0.01)  # type: ignore[arg-type]
    consumer.start()
    await asyncio.wait_for(first_done.wait(), 10)
    await asyncio.wait_for(asyncio.gather(*consumer.inflight), 10)  # its run ended
    assert not consumer.held
    store.batches = [[msg]]
    consumer.wake()
    await store.changes.until(lambda: len(runs) >= 2, 10, "the second run")
    await consumer.stop(grace=10)
    assert runs == [8, 8]
