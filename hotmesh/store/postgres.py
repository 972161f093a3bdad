"""The PostgreSQL store: a pool on one hotmesh schema, the kept connections of
the hot statements, the LISTEN connection, and the verbs the engine and the
client API call.

The other jobs of the store live beside it: values in :mod:`~hotmesh.store.codec`,
driver errors in :mod:`~hotmesh.store.faults`, kept connections in
:mod:`~hotmesh.store.keeper`, LISTEN in :mod:`~hotmesh.store.listener`, the
statements of a step in :mod:`~hotmesh.store.tx`, listings in
:mod:`~hotmesh.store.listings`, one-shot connections in :mod:`~hotmesh.store.admin`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from hotmesh import errors
from hotmesh.config import mask_dsn
from hotmesh.store import tx
from hotmesh.store.codec import PooledConnection, activity_row, init_connection, job_row
from hotmesh.store.faults import malformed, mapped, mapped_verbs
from hotmesh.store.group import GroupCommit
from hotmesh.store.keeper import ConnectionKeeper
from hotmesh.store.listener import Listener
from hotmesh.store.listings import ListingVerbs
from hotmesh.store.migrate import migrate, quote_schema
from hotmesh.store.records import ENGINE_STREAM, Claimed, JobRow, Message, NewMessage
from hotmesh.store.signals import pending_signals
from hotmesh.store.sql import queries
from hotmesh.store.tx import JobCreated, StepWrite, StepWritten, StoreTx
from hotmesh.telemetry import logs

log = logs.get("hotmesh.store")
#: seconds ``close`` waits for connections in use before closing them anyway
CLOSE_GRACE = 10.0


@mapped_verbs
class PostgresStore(ListingVerbs):
    """A connection pool on one hotmesh schema, plus a LISTEN connection."""

    def __init__(
        self, pool: asyncpg.Pool, dsn: str, schema: str, keep: int = 5
    ) -> None:
        self._pool = pool
        #: the hot paths (one-statement steps, create_job, claims, transactions)
        #: run on up to ``keep`` connections kept out of the pool
        self.keeper = ConnectionKeeper(pool, keep)
        self.schema = schema
        self.channel = f"hotmesh_{schema}"
        quoted = quote_schema(schema)
        self._q = {
            **queries(quoted),
            **queries(quoted, "search.sql"),
            **queries(quoted, "stats.sql"),
        }
        #: several jobs' one-statement writes, ready together, in one commit
        self.commits = GroupCommit(self.keeper, self._q)
        self._listener = Listener(dsn, self.channel)

    @classmethod
    async def open(
        cls, dsn: str, schema: str = "hotmesh", pool_size: int = 10
    ) -> PostgresStore:
        """Connect, migrate (under an advisory lock) and return the store."""
        quote_schema(schema)
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=1,
                max_size=pool_size,
                init=init_connection,
                connection_class=PooledConnection,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise errors.StoreUnavailableError(
                f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: {exc}"
            ) from None
        except ValueError:
            raise malformed(dsn) from None
        assert pool is not None
        try:
            async with pool.acquire() as conn:
                await migrate(conn, schema)  # type: ignore[arg-type]
        except BaseException as exc:
            pool.terminate()  # else its floor keeps reconnecting in the background
            if isinstance(exc, asyncpg.PostgresError):
                raise errors.StoreError(
                    f"cannot prepare schema '{schema}' at {mask_dsn(dsn)}: {exc}"
                ) from None
            raise
        # two pool connections stay for the rest (plans, reads, the CLI)
        return cls(pool, dsn, schema, keep=pool_size - 2 if pool_size >= 4 else 0)

    async def close(self) -> None:
        """Close the listener and the pool: connections still in use after
        ``CLOSE_GRACE`` seconds are closed anyway (a task that never gives its
        connection back must not keep ``HotMesh.stop`` from returning)."""
        self.keeper.closing = True
        await self._listener.close()
        await self.keeper.release_idle()
        busy = self._pool.get_size() - self._pool.get_idle_size()
        try:
            await asyncio.wait_for(self._pool.close(), CLOSE_GRACE)
        except TimeoutError:
            log.warning(
                "connections still in use %.3g s after close (%d when it began):"
                " terminated",
                CLOSE_GRACE,
                busy,
            )
            self._pool.terminate()

    async def listen(
        self,
        callback: Callable[[str], None],
        on_reconnect: Callable[[], None] = lambda: None,
    ) -> None:
        """Call ``callback(payload)`` for every NOTIFY on this schema's channel.

        If the listening connection drops (a database restart, a network cut),
        it is re-established with back-off, then ``on_reconnect()`` is called:
        notifications sent meanwhile are lost, so the caller re-checks its state.
        """
        await self._listener.start(callback, on_reconnect)

    async def early_signals(
        self, app_id: str, job_id: str | None, prefix: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Early signals of an app (``HotMesh.early_signals``)."""
        return await pending_signals(
            self._pool, self.schema, app_id, job_id, prefix, limit
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StoreTx]:
        """One transaction on a kept connection; driver errors are translated
        (``StoreUnavailableError``, ``TransactionConflictError``, and
        ``InvalidDataError`` when the database refuses a value: a step's fault,
        not the connection's)."""
        with mapped():
            async with self.keeper.connection() as conn:
                async with conn.transaction():
                    yield StoreTx(conn, self._q, self.schema)

    async def create_job(self, w: StepWrite) -> JobCreated:
        """``StoreTx.create_job`` as one statement, committed alone or with
        other jobs' writes ready at the same time (group commit)."""
        q = self._q
        return await self.commits.run(
            lambda conn: tx.create_job(conn, q, w), w.job.job_id, _gated(w)
        )

    async def write_step_cas(
        self, w: StepWrite, message_ids: Sequence[int], owner: str, version: str
    ) -> StepWritten:
        """``StoreTx.write_step_cas`` as one statement, committed alone or with
        other jobs' writes ready at the same time (group commit)."""
        q, ids = self._q, list(message_ids)
        return await self.commits.run(
            lambda conn: tx.write_step(conn, q, w, ids, owner, version),
            w.job.job_id,
            _gated(w),
        )

    async def claim(
        self, app_id: str, stream: str, owner: str, lease: float, limit: int
    ) -> Claimed:
        """Reserve up to ``limit`` visible messages (expired reservations included),
        within the stream's flow limits; the engine stream never has any."""
        query = self._q["claim_plain" if stream == ENGINE_STREAM else "claim"]
        rows = await self.keeper.statement(query, app_id, stream, owner, lease, limit)
        msgs = [
            Message(
                r["mid"],
                r["mtype"],
                r["mpayload"],
                r["mattempts"],
                stream,
                r["mpriority"],
                r["mckey"],
                r["mrkey"],
            )
            for r in rows
            if r["mid"] is not None
        ]
        marker = [r for r in rows if r["mid"] is None]
        wait = marker[0]["mwait"] if marker else None
        # started in claim order: higher priority first, then oldest
        msgs.sort(key=lambda m: (-m.priority, m.id))
        return Claimed(msgs, bool(marker), None if wait is None else float(wait))

    async def next_due(self, app_id: str, stream: str, limit: int) -> list[float]:
        """Seconds until each of the next ``limit`` times messages become visible."""
        rows = await self._pool.fetch(self._q["next_due"], app_id, stream, limit)
        return [float(row["due"]) for row in rows]

    async def ack(self, message_id: int, owner: str) -> bool:
        """Delete a message outside any step."""
        status = await self._pool.execute(self._q["ack"], message_id, owner)
        return bool(status == "DELETE 1")

    async def ack_waiting(
        self,
        message_id: int,
        owner: str,
        app_id: str,
        job_id: str,
        activity_id: str,
        dimension: str,
        topic: str,
    ) -> bool:
        """Ack a worker message answered with ``None`` and mark its activity row
        as waiting for an answer (``hm.add``); ``False`` if the claim was lost."""
        return bool(
            await self._pool.fetchval(
                self._q["ack_waiting"],
                message_id,
                owner,
                app_id,
                job_id,
                activity_id,
                dimension,
                topic,
            )
        )

    async def extend_leases(
        self, message_ids: Sequence[int], owner: str, lease: float
    ) -> None:
        """Keep claimed messages reserved for ``lease`` more seconds (a heartbeat)."""
        await self._pool.execute(
            self._q["extend_leases"], list(message_ids), owner, lease
        )

    async def renew_claims(
        self, message_ids: Sequence[int], owner: str, lease: float
    ) -> set[int]:
        """``extend_leases``, returning the ids ``owner`` still holds."""
        rows = await self._pool.fetch(
            self._q["renew_claims"], list(message_ids), owner, lease
        )
        return {int(r["id"]) for r in rows}

    async def release_stream(self, app_id: str, stream: str, owner: str) -> None:
        """Give back ``owner``'s reservations on one stream."""
        await self._pool.execute(self._q["release_stream"], app_id, stream, owner)

    async def release(self, owner: str) -> None:
        """Give back every reservation held by ``owner``."""
        await self._pool.execute(self._q["release"], owner)

    async def insert_messages(
        self, app_id: str, messages: Sequence[NewMessage]
    ) -> None:
        """Insert messages in their own transaction."""
        async with self.transaction() as tx:
            await tx.insert_messages(app_id, messages)

    async def notify(self, payload: str) -> None:
        """NOTIFY this schema's channel."""
        await self._pool.execute(self._q["notify"], self.channel, [payload])

    async def read_job(
        self,
        app_id: str,
        job_id: str,
        with_activities: bool = False,
        include_expired: bool = False,
    ) -> JobRow | None:
        """The live job row (or also an expired one), optionally with its activity rows."""
        query = self._q["read_job_any" if include_expired else "read_job"]
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(query, app_id, job_id)
            if row is None:
                return None
            job = job_row(row)
            if with_activities:
                rows = await conn.fetch(self._q["read_activities"], job.pk)
                job.activities = [activity_row(r) for r in rows]
            return job

    async def prune(
        self, app_id: str, retention: float, batch: int = 1000
    ) -> tuple[int, int]:
        """Delete up to ``batch`` jobs expired more than ``retention`` seconds ago
        (with their rows), and up to ``batch`` expired early signals; returns
        how many of each went."""
        jobs = await self._pool.execute(self._q["prune_jobs"], app_id, retention, batch)
        signals = await self._pool.execute(self._q["prune_signals"], app_id, batch)
        return int(jobs.split()[-1]), int(signals.split()[-1])

    async def scrub(self, app_id: str, job_id: str) -> bool:
        """Delete a job and its activity rows."""
        status = await self._pool.execute(self._q["scrub_job"], app_id, job_id)
        return bool(status != "DELETE 0")

    async def get_plan(self, app_id: str, version: str) -> dict[str, Any] | None:
        """The stored plan document of an app version."""
        doc = await self._pool.fetchval(self._q["get_version"], app_id, version)
        return doc if isinstance(doc, dict) else None

    async def insert_version(
        self, app_id: str, version: str, plan: dict[str, Any]
    ) -> bool:
        """Store a plan document; ``False`` if the version already exists."""
        inserted = await self._pool.fetchval(
            self._q["insert_version"], app_id, version, plan
        )
        return inserted is not None

    async def active_version(self, app_id: str) -> str | None:
        """The app's active version, if any."""
        value = await self._pool.fetchval(self._q["active_version"], app_id)
        return None if value is None else str(value)

    async def activate(self, app_id: str, version: str) -> None:
        """Mark ``version`` active for ``app_id``."""
        await self._pool.execute(self._q["activate"], app_id, version)


def _gated(w: StepWrite) -> bool:
    """Whether ``w`` hands a message over under a keyed flow limit: it waits
    for that key's gate (an advisory lock) whatever the job order of a batch,
    so it commits alone, as a batch holding it could deadlock another."""
    return any(m.reserved_by and (m.ckey or m.rkey) for m in w.messages)
