"""Driver errors reach callers as hotmesh errors, on a real PostgreSQL: a
terminated backend is ``StoreUnavailableError`` and a deadlock is
``TransactionConflictError``, each ``from`` the asyncpg error; the store
recovers on the next call."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from hotmesh import errors
from hotmesh.store.postgres import PostgresStore


async def _terminate(dsn: str, pid: int) -> None:
    """End a backend and wait (up to 5 s) until it is gone."""
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
    finally:
        await conn.close()


async def test_a_terminated_backend_is_store_unavailable(pg_dsn: str) -> None:
    store = await PostgresStore.open(pg_dsn, pool_size=4)
    try:
        with pytest.raises(errors.StoreUnavailableError) as info:
            async with store.transaction() as tx:
                await _terminate(pg_dsn, tx._conn.get_server_pid())
                await tx.lock_job("app", "job-1")
        cause = info.value.__cause__
        assert isinstance(cause, asyncpg.PostgresError | asyncpg.InterfaceError)
        assert not isinstance(cause, errors.HotMeshError)
        assert "database is unavailable" in str(info.value)
        # the broken connection was dropped: the next statements work
        assert (await store.claim("app", "s", "me", 5.0, 10)).messages == []
        async with store.transaction() as tx:
            assert await tx.lock_job("app", "job-1") is None
    finally:
        await asyncio.wait_for(store.close(), 10)


async def test_a_cut_to_every_backend_is_absorbed_or_store_unavailable(
    pg_dsn: str,
) -> None:
    """As a database restart would: every connection of the store is cut
    (kept and pooled). The store replaces the connections it sees closed; a
    call that still meets a dead one fails with ``StoreUnavailableError``
    (never a raw driver error), and the next calls work."""
    store = await PostgresStore.open(pg_dsn, pool_size=4)
    admin = await asyncpg.connect(pg_dsn)
    try:
        await store.claim("app", "s", "me", 5.0, 10)  # a kept connection is open
        pids = await admin.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert pids
        for row in pids:
            await _terminate(pg_dsn, row["pid"])
        outcomes: list[Exception | None] = []
        for call in [store.read_job, store.claim] * 4:
            try:
                if call == store.read_job:
                    await store.read_job("app", "job-1")
                else:
                    await store.claim("app", "s", "me", 5.0, 10)
                outcomes.append(None)
            except Exception as exc:
                outcomes.append(exc)
        failures = [o for o in outcomes if o is not None]
        for failure in failures:
            assert isinstance(failure, errors.StoreUnavailableError), failure
            assert failure.__cause__ is not None
        assert outcomes[-2:] == [None, None]  # recovered, through both doors
    finally:
        await admin.close()
        await asyncio.wait_for(store.close(), 10)


async def test_a_deadlock_is_a_transaction_conflict(pg_dsn: str) -> None:
    store = await PostgresStore.open(pg_dsn, pool_size=4)
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(
            "DROP TABLE IF EXISTS public.hm_deadlock;"
            "CREATE TABLE public.hm_deadlock (id int PRIMARY KEY, v int);"
            "INSERT INTO public.hm_deadlock VALUES (1, 0), (2, 0);"
        )
        locked = [asyncio.Event(), asyncio.Event()]

        async def cross(first: int, second: int, me: int) -> None:
            async with store.transaction() as tx:
                conn = tx._conn
                await conn.execute(
                    "UPDATE public.hm_deadlock SET v = v + 1 WHERE id = $1", first
                )
                locked[me].set()
                await asyncio.wait_for(locked[1 - me].wait(), 10)
                await conn.execute(
                    "UPDATE public.hm_deadlock SET v = v + 1 WHERE id = $1", second
                )

        results = await asyncio.wait_for(
            asyncio.gather(cross(1, 2, 0), cross(2, 1, 1), return_exceptions=True),
            30,
        )
        conflicts = [r for r in results if isinstance(r, BaseException)]
        assert len(conflicts) == 1, results
        assert isinstance(conflicts[0], errors.TransactionConflictError)
        assert isinstance(conflicts[0].__cause__, asyncpg.DeadlockDetectedError)
        assert isinstance(conflicts[0], errors.RETRYABLE)
    finally:
        await admin.execute("DROP TABLE IF EXISTS public.hm_deadlock")
        await admin.close()
        await asyncio.wait_for(store.close(), 10)
