"""The connection keeper against a fake pool: bounded, reused, served in arrival
order, failed connections replaced, everything given back on close (no database)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh.store.keeper import ConnectionKeeper


class FakeConnection:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False
        self.in_transaction = False
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self.fail_with: BaseException | None = None

    def is_closed(self) -> bool:
        return self.closed

    def is_in_transaction(self) -> bool:
        return self.in_transaction

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        self.statements.append((query, args))
        if self.fail_with is not None:
            raise self.fail_with
        return [self.n]


class FakePool:
    """Hands out numbered connections and records what comes back."""

    def __init__(self) -> None:
        self.made: list[FakeConnection] = []
        self.released: list[FakeConnection] = []
        self.expired = 0

    async def acquire(self) -> FakeConnection:
        conn = FakeConnection(len(self.made))
        self.made.append(conn)
        return conn

    async def release(self, connection: Any) -> None:
        self.released.append(connection)

    async def expire_connections(self) -> None:
        self.expired += 1


async def _queued(keeper: ConnectionKeeper, n: int) -> None:
    for _ in range(100):
        if len(keeper.waiters) >= n:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{n} waiters never queued")


async def test_statements_reuse_a_bounded_number_of_kept_connections() -> None:
    pool = FakePool()
    keeper = ConnectionKeeper(pool, keep=2)
    rows = await asyncio.gather(*(keeper.statement("SELECT 1") for _ in range(20)))
    assert len(rows) == 20
    assert len(pool.made) <= 2 and keeper.owned == len(pool.made)
    first = keeper.idle[-1]
    await keeper.statement("SELECT 2")
    assert keeper.idle[-1] is first  # the same connection, not a pool round
    assert pool.released == []


async def test_waiters_are_served_in_arrival_order() -> None:
    keeper = ConnectionKeeper(FakePool(), keep=2)
    held = [await keeper.take(), await keeper.take()]
    served: list[int] = []

    async def waiter(n: int) -> None:
        conn = await keeper.take()
        served.append(n)
        await keeper.give(conn, True)

    tasks = []
    for n in range(5):
        tasks.append(asyncio.create_task(waiter(n)))
        await _queued(keeper, n + 1)
    assert served == []
    for conn in held:
        await keeper.give(conn, True)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert served == [0, 1, 2, 3, 4]
    assert keeper.owned == 2


async def test_a_failed_connection_goes_back_and_the_waiter_gets_a_new_one() -> None:
    pool = FakePool()
    keeper = ConnectionKeeper(pool, keep=2)
    first, second = await keeper.take(), await keeper.take()
    waiter = asyncio.create_task(keeper.take())
    await _queued(keeper, 1)
    first.closed = True  # as a server restart or a network cut would
    await keeper.give(first, False)
    assert pool.released == [first]
    replacement = await asyncio.wait_for(waiter, 5)
    assert replacement is not first and replacement is not second
    assert keeper.owned == 2


async def test_a_lost_connection_expires_the_pool_and_drops_the_idle_ones() -> None:
    pool = FakePool()
    keeper = ConnectionKeeper(pool, keep=3)
    conns = [await keeper.take() for _ in range(3)]
    for conn in conns[1:]:
        await keeper.give(conn, True)
    conns[0].fail_with = ConnectionResetError("cut")
    keeper.idle.append(conns[0])  # the next statement takes the broken one
    with pytest.raises(ConnectionResetError):
        await keeper.statement("SELECT 1")
    assert pool.expired == 1
    assert set(map(id, pool.released)) == set(map(id, conns))
    assert keeper.idle == [] and keeper.owned == 0


async def test_a_failing_statement_keeps_its_connection() -> None:
    pool = FakePool()
    keeper = ConnectionKeeper(pool, keep=1)
    conn = await keeper.take()
    await keeper.give(conn, True)
    conn.fail_with = KeyError("a bug, not the connection")
    with pytest.raises(KeyError):
        await keeper.statement("SELECT 1")
    assert keeper.idle == [conn] and pool.released == [] and pool.expired == 0


async def test_unusable_idle_connections_are_skipped() -> None:
    pool = FakePool()
    keeper = ConnectionKeeper(pool, keep=2)
    conn = await keeper.take()
    await keeper.give(conn, True)
    conn.closed = True  # closed while idle
    fresh = await keeper.take()
    assert fresh is not conn and pool.released == [conn]
    busy = await keeper.take()
    busy.in_transaction = True  # a block left a transaction open: not reusable
    await keeper.give(busy, True)
    assert pool.released == [conn, busy] and keeper.idle == []


async def test_a_block_gives_its_connection_back_whatever_happens() -> None:
    pool = FakePool()
    keeper = ConnectionKeeper(pool, keep=1)
    async with keeper.connection() as conn:
        pass
    assert keeper.idle == [conn]
    with pytest.raises(ValueError):
        async with keeper.connection() as same:
            raise ValueError("rolled back")
    assert same is conn and keeper.idle == [conn]  # idle again: kept
    with pytest.raises(OSError):
        async with keeper.connection():
            raise OSError("connection lost")
    assert pool.released == [conn] and pool.expired == 1 and keeper.owned == 0


async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    keeper = ConnectionKeeper(FakePool(), keep=1)
    held = await keeper.take()
    cancelled = asyncio.create_task(keeper.take())
    await _queued(keeper, 1)
    patient = asyncio.create_task(keeper.take())
    await _queued(keeper, 2)
    cancelled.cancel()
    await keeper.give(held, True)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert await asyncio.wait_for(patient, 5) is held


async def test_closing_returns_every_connection_to_the_pool() -> None:
    pool = FakePool()
    keeper = ConnectionKeeper(pool, keep=2)
    a, b = await keeper.take(), await keeper.take()
    await keeper.give(a, True)
    keeper.closing = True
    await keeper.give(b, True)  # once closing, nothing is kept
    await keeper.release_idle()
    assert keeper.idle == [] and keeper.owned == 0
    assert sorted(c.n for c in pool.released) == [0, 1]


async def test_keep_zero_always_uses_the_pool() -> None:
    pool = FakePool()
    keeper = ConnectionKeeper(pool, keep=0)
    await keeper.statement("SELECT 1")
    await keeper.statement("SELECT 1")
    assert len(pool.made) == 2 and len(pool.released) == 2 and keeper.idle == []
