"""The store's kept connections: reused for hot statements, served in arrival
order, handed back to the pool when closing."""

from __future__ import annotations

import asyncio

from hotmesh.store.postgres import PostgresStore


async def test_kept_connections_are_bounded_reused_and_closed(pg_dsn: str) -> None:
    store = await PostgresStore.open(pg_dsn, pool_size=4)  # keeps 2, 2 stay pooled
    try:
        claims = [store.claim("app", "empty", "me", 5.0, 10) for _ in range(30)]
        assert [c.messages for c in await asyncio.gather(*claims)] == [[]] * 30
        assert store.keeper.owned == 2 and len(store.keeper.idle) == 2
        first = store.keeper.idle[-1]
        await store.claim("app", "empty", "me", 5.0, 10)
        assert store.keeper.idle[-1] is first  # the same connection, not a pool round
        # the pool's other connections still serve everything else meanwhile
        assert await store.list_apps() == []
    finally:
        await asyncio.wait_for(store.close(), 10)
    assert store.keeper.idle == [] and store.keeper.owned == 0


async def test_waiters_get_a_kept_connection_in_arrival_order(pg_dsn: str) -> None:
    store = await PostgresStore.open(pg_dsn, pool_size=4)
    try:
        held = [await store.keeper.take(), await store.keeper.take()]
        served: list[int] = []

        async def waiter(n: int) -> None:
            conn = await store.keeper.take()
            served.append(n)
            await store.keeper.give(conn, True)

        tasks = []
        for n in range(5):
            tasks.append(asyncio.create_task(waiter(n)))
            await asyncio.sleep(0)  # let it queue: arrival order is the test
        assert served == [] and len(store.keeper.waiters) == 5
        for conn in held:
            await store.keeper.give(conn, True)
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        assert served == [0, 1, 2, 3, 4]
        assert store.keeper.owned == 2
    finally:
        await asyncio.wait_for(store.close(), 10)


async def test_a_failed_connection_is_replaced_for_the_next_waiter(pg_dsn: str) -> None:
    store = await PostgresStore.open(pg_dsn, pool_size=4)
    try:
        first, second = await store.keeper.take(), await store.keeper.take()
        waiter = asyncio.create_task(store.keeper.take())
        await asyncio.sleep(0)  # queue it behind the two kept connections
        assert len(store.keeper.waiters) == 1
        first.terminate()  # as a server restart or a network cut would
        await store.keeper.give(first, False)
        replacement = await asyncio.wait_for(waiter, 10)
        assert replacement is not first and not replacement.is_closed()
        assert await replacement.fetchval("SELECT 1") == 1
        assert store.keeper.owned == 2
        await store.keeper.give(replacement, True)
        await store.keeper.give(second, True)
    finally:
        await asyncio.wait_for(store.close(), 10)
