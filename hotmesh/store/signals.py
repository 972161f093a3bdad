"""Signal keys in a transaction: hooks waiting, signals kept early, tombstones.

A key's row is a waiting hook, the signals that arrived before one (kept for
``keep_for`` seconds, bounded per key), or the tombstone of a hook that took
its signal. Hook and tombstone rows are bound to their job (deleted with it),
so a signal to a key whose job has finished is refused instead of being kept
for a later job that reuses the id (issue 20 §5). Both sides lock the same
primary key, so whichever commits second sees the first: no signal is lost in
either order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import asyncpg

from hotmesh.store.faults import mapped_verbs
from hotmesh.store.migrate import quote_schema
from hotmesh.store.sql import queries

#: what became of a signal
Outcome = Literal["resumed", "kept", "inactive", "unknown", "full"]


@dataclass(frozen=True, slots=True)
class KeepRules:
    """When and how long a signal that finds no waiting hook is kept.

    ``job_pk``: the running job the signal is known to be for (it may register
    the hook later); ``explicit``: the caller asked to keep it even when no
    running job is known (a job that has not started yet); ``force``: keep
    it even when the key's last job has finished (a child's outcome to its
    parent's join key, which a later wait of the parent takes); ``seconds``:
    how long; ``max_count``/``max_bytes``: the bound of each key's kept
    signals (their count, and their size as JSON text).
    """

    seconds: float
    job_pk: int | None = None
    explicit: bool = False
    force: bool = False
    max_count: int = 100
    max_bytes: int = 1 << 20


@dataclass(frozen=True, slots=True)
class Taken:
    """A signal's fate: ``resumed`` (``target`` is the registration), ``kept``,
    ``inactive`` (the key's job ``owner`` finished), ``unknown`` (nothing waits
    and no running job is known), ``full`` (the key holds ``kept`` signals of
    ``kept_bytes``, at its bound)."""

    outcome: Outcome
    target: dict[str, Any] | None = None
    owner: str | None = None
    kept: int = 0
    kept_bytes: int = 0


@cache
def _sql(schema: str) -> dict[str, str]:
    return queries(quote_schema(schema), "signals.sql")


@mapped_verbs
class SignalKeys:
    """The signal statements of one open transaction."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self._conn = conn
        self._q = _sql(schema)

    async def register_hook(
        self, app_id: str, key: str, job_pk: int, target: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Register a waiting hook; returns early signals to deliver to it now."""
        q, conn = self._q, self._conn
        while True:
            if await conn.fetchval(q["signal_register"], app_id, key, job_pk, target):
                return []
            row = await conn.fetchrow(q["signal_lock"], app_id, key)
            if row is None:
                continue  # deleted meanwhile: insert again
            if row["kind"] != "pending" or row["stale"] or row["owner_done"]:
                # A tombstone, an old registration, or signals kept for a job
                # that has finished: none of it is for this hook.
                await conn.execute(q["signal_set"], app_id, key, "hook", job_pk, target)
                return []
            early = [s for s in row["payload"] or [] if isinstance(s, dict)]
            kind = "spent" if any(s.get("code") != 202 for s in early) else "hook"
            await conn.execute(
                q["signal_set"],
                app_id,
                key,
                kind,
                job_pk,
                None if kind == "spent" else target,
            )
            return early

    async def take_signal(
        self, app_id: str, key: str, signal: dict[str, Any], keep: KeepRules
    ) -> Taken:
        """Resume the hook waiting on ``key``, or keep ``signal`` by ``keep``'s rules."""
        q, conn = self._q, self._conn
        size = len(json.dumps(signal, separators=(",", ":")))
        while True:
            row = await conn.fetchrow(q["signal_lock"], app_id, key)
            # The key's job has finished: the signal is late, unless a running
            # job it is for was named (a later job waiting on the same key).
            dead = row is not None and row["owner_done"] and not row["stale"]
            if row is not None and dead and keep.job_pk is None and not keep.force:
                if row["kind"] == "pending":  # kept for a job that ended without it
                    await conn.execute(q["signal_spend"], app_id, key)
                return Taken("inactive", owner=row["owner"])
            if row is not None and row["kind"] == "hook" and not dead:
                target = row["payload"]
                if signal.get("code") != 202:
                    await conn.execute(q["signal_spend"], app_id, key)
                return Taken("resumed", target if isinstance(target, dict) else None)
            if (
                row is not None
                and row["kind"] == "pending"
                and not row["stale"]
                and not dead
            ):
                if (
                    row["kept"] >= keep.max_count
                    or row["kept_bytes"] + size > keep.max_bytes
                ):
                    return Taken("full", kept=row["kept"], kept_bytes=row["kept_bytes"])
                await conn.execute(q["signal_append"], app_id, key, [signal])
                return Taken("kept")
            # Nothing kept yet: keep it for the running job named, or the one
            # whose hook last took this key (a cycle may register it again).
            job_pk = keep.job_pk
            if (
                job_pk is None
                and row is not None
                and row["kind"] == "spent"
                and not dead
            ):
                job_pk = row["job"]
            if job_pk is None and not keep.explicit:
                return Taken("unknown")
            if size > keep.max_bytes:
                return Taken("full")
            if row is not None:
                await conn.execute(
                    q["signal_keep"], app_id, key, [signal], keep.seconds, job_pk
                )
                return Taken("kept")
            if await conn.fetchval(
                q["signal_pend"], app_id, key, [signal], keep.seconds, job_pk
            ):
                return Taken("kept")

    async def unregister_hooks(self, app_id: str, keys: list[str], job_pk: int) -> None:
        """This job's registrations under ``keys`` become tombstones (a timer won)."""
        await self._conn.execute(self._q["signal_unregister"], app_id, keys, job_pk)

    async def job(self, app_id: str, job_id: str) -> tuple[int, bool] | None:
        """``(row id, finished)`` of job ``job_id``; ``None`` if it does not exist."""
        row = await self._conn.fetchrow(self._q["signal_job"], app_id, job_id)
        return None if row is None else (int(row["id"]), bool(row["done"]))


async def pending_signals(
    conn: Any,
    schema: str,
    app_id: str,
    job_id: str | None,
    prefix: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Early signals kept for ``app_id`` (see ``HotMesh.early_signals``)."""
    q = _sql(schema)
    rows = await conn.fetch(q["signals_pending"], app_id, job_id, prefix, limit)
    return [dict(r) for r in rows]
