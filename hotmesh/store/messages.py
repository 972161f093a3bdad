"""A job's inbox in PostgreSQL (``messages.sql``, migration 0019): MemFlow's
signals and updates for handlers, numbered in arrival order."""

from __future__ import annotations

from typing import Any

from hotmesh.store.faults import mapped_verbs
from hotmesh.store.migrate import quote_schema
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.sql import queries


@mapped_verbs
class MessageRows:
    """The inbox statements of one store (schema)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._q = queries(quote_schema(store.schema), "messages.sql")

    async def add(
        self,
        app_id: str,
        job_id: str,
        kind: str,
        name: str,
        args: list[Any],
        msg_id: str | None = None,
    ) -> tuple[int, bool] | None:
        """Add a message to a running job's inbox: ``(seq, added)``; ``added`` is
        False when ``msg_id`` was already there. None: no such running job."""
        async with self.store.transaction() as tx:
            row = await tx._conn.fetchrow(
                self._q["message_add"], app_id, job_id, kind, name, list(args), msg_id
            )
            if row is None and msg_id is not None:
                # a concurrent add of the same id committed while this one
                # waited: the statement's snapshot predates it, a new one sees it
                seq = await tx._conn.fetchval(
                    self._q["message_find"], app_id, job_id, msg_id
                )
                if seq is not None:
                    return int(seq), False
        return None if row is None else (int(row["seq"]), bool(row["added"]))

    async def after(
        self, app_id: str, job_id: str, seq: int, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Messages after ``seq``, oldest first: ``seq, kind, name, args, msg_id``."""
        rows = await self.store._pool.fetch(
            self._q["messages_after"], app_id, job_id, seq, limit
        )
        return [dict(row) for row in rows]

    async def cancels_pending(self, app_id: str, limit: int = 100_000) -> list[str]:
        """Ids of running jobs with a cancellation in their inbox."""
        rows = await self.store._pool.fetch(self._q["cancels_pending"], app_id, limit)
        return [str(row["job_id"]) for row in rows]

    async def find(self, app_id: str, job_id: str, msg_id: str) -> int | None:
        """The seq of message ``msg_id`` in the job's inbox, None if absent."""
        seq = await self.store._pool.fetchval(
            self._q["message_find"], app_id, job_id, msg_id
        )
        return None if seq is None else int(seq)
