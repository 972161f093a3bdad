"""Schedule rows in PostgreSQL (``schedules.sql``): the statements ``hotmesh.schedules`` runs.

Every method runs on an open ``StoreTx`` so a firing pass locks its schedule
rows, starts the tick's jobs and advances the rows in one transaction: a
process killed half-way commits nothing, and the next pass fires the same
ticks (with the same job ids) again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from hotmesh.store.faults import mapped_verbs
from hotmesh.store.migrate import quote_schema
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.sql import queries
from hotmesh.store.tx import StoreTx


def _conn(tx: StoreTx) -> asyncpg.Connection:
    return tx._conn  # the transaction's connection: same package, same transaction


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


Rows = list[dict[str, Any]]


@mapped_verbs
class ScheduleRows:
    """The schedule statements of one store (schema)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._q = queries(quote_schema(store.schema), "schedules.sql")

    async def insert(
        self, tx: StoreTx, app_id: str, version: str, row: dict[str, Any]
    ) -> bool:
        """Insert a schedule; ``False`` if the id is taken."""
        got = await _conn(tx).fetchval(
            self._q["insert"],
            app_id,
            version,
            row["id"],
            row["topic"],
            row["data"],
            row["options"],
            row["paused"],
            row["base"],
            row["handled_to"],
            row["next_at"],
        )
        return got is not None

    async def insert_version(
        self, tx: StoreTx, app_id: str, version: str, rows: Sequence[dict[str, Any]]
    ) -> None:
        """The schedules a manifest version declares (existing rows are kept)."""
        doc = [
            {
                **r,
                "base": _iso(r["base"]),
                "handled_to": _iso(r["handled_to"]),
                "next_at": _iso(r["next_at"]),
            }
            for r in rows
        ]
        await _conn(tx).execute(self._q["replace_version"], app_id, version, doc)

    async def version_rows(self, tx: StoreTx, app_id: str, version: str) -> Rows:
        rows = await _conn(tx).fetch(self._q["version_rows"], app_id, version)
        return [dict(r) for r in rows]

    async def restart_version(
        self,
        tx: StoreTx,
        app_id: str,
        version: str,
        now: datetime,
        next_at: dict[str, datetime | None],
    ) -> None:
        doc = {k: _iso(v) for k, v in next_at.items()}
        await _conn(tx).execute(self._q["restart_version"], app_id, version, now, doc)

    async def due(self, tx: StoreTx, app_id: str, now: datetime, limit: int) -> Rows:
        """Due schedules, locked for this pass (others skip them)."""
        rows = await _conn(tx).fetch(self._q["due"], app_id, now, limit)
        return [dict(r) for r in rows]

    async def advance(
        self,
        tx: StoreTx,
        app_id: str,
        version: str,
        schedule_id: str,
        handled_to: datetime,
        next_at: datetime | None,
        buffered_at: datetime | None,
        last_job_id: str | None,
    ) -> None:
        await _conn(tx).execute(
            self._q["advance"],
            app_id,
            version,
            schedule_id,
            handled_to,
            next_at,
            buffered_at,
            last_job_id,
        )

    async def record_runs(
        self,
        tx: StoreTx,
        app_id: str,
        version: str,
        schedule_id: str,
        runs: Sequence[tuple[datetime, str, str | None, datetime]],
    ) -> None:
        """Record ticks as ``(scheduled_at, outcome, job_id, fired_at)``."""
        if not runs:
            return
        doc = [
            {"t": t.isoformat(), "o": o, "j": j, "f": f.isoformat()}
            for t, o, j, f in runs
        ]
        await _conn(tx).execute(
            self._q["record_runs"], app_id, version, schedule_id, doc
        )

    async def next_due(self, app_id: str) -> datetime | None:
        """When the earliest schedule tick or delayed start is due (None: none)."""
        async with self.store.transaction() as tx:
            found = [
                await _conn(tx).fetchval(self._q["next_due"], app_id),
                await _conn(tx).fetchval(self._q["delay_next"], app_id),
            ]
        times = [v for v in found if isinstance(v, datetime)]
        return min(times) if times else None

    async def delay(
        self, tx: StoreTx, app_id: str, job_id: str, gid: str, start_at: datetime
    ) -> None:
        """Record that job ``job_id`` (generation ``gid``) starts at ``start_at``."""
        await _conn(tx).execute(self._q["delay_insert"], app_id, job_id, gid, start_at)

    async def take_starts(
        self, tx: StoreTx, app_id: str, now: datetime, limit: int
    ) -> Rows:
        """Delayed starts due at ``now``, deleted in ``tx`` (others skip them)."""
        rows = await _conn(tx).fetch(self._q["delay_take"], app_id, now, limit)
        return [dict(r) for r in rows]

    async def list(self, app_id: str, every_version: bool = False) -> Rows:
        async with self.store.transaction() as tx:
            rows = await _conn(tx).fetch(self._q["list"], app_id, every_version)
        return [dict(r) for r in rows]

    async def get(
        self, tx: StoreTx, app_id: str, schedule_id: str
    ) -> dict[str, Any] | None:
        """One schedule (the API's, else the active version's), locked."""
        row = await _conn(tx).fetchrow(self._q["get"], app_id, schedule_id)
        return None if row is None else dict(row)

    async def runs(
        self, tx: StoreTx, app_id: str, version: str, schedule_id: str, limit: int
    ) -> Rows:
        rows = await _conn(tx).fetch(
            self._q["runs"], app_id, version, schedule_id, limit
        )
        return [dict(r) for r in rows]

    async def update(
        self, tx: StoreTx, app_id: str, version: str, row: dict[str, Any]
    ) -> None:
        await _conn(tx).execute(
            self._q["update"],
            app_id,
            version,
            row["id"],
            row["topic"],
            row["data"],
            row["options"],
            row["paused"],
            row["base"],
            row["handled_to"],
            row["next_at"],
        )

    async def set_last(
        self, tx: StoreTx, app_id: str, version: str, schedule_id: str, job_id: str
    ) -> None:
        await _conn(tx).execute(
            self._q["set_last"], app_id, version, schedule_id, job_id
        )

    async def delete(
        self, tx: StoreTx, app_id: str, version: str, schedule_id: str
    ) -> bool:
        got = await _conn(tx).fetchval(self._q["delete"], app_id, version, schedule_id)
        return got is not None
