"""The statements of one step, for the engine: the one-statement step write
and new job (``StepWrite``), and ``StoreTx``, the verbs of an open transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import asyncpg

from hotmesh import errors
from hotmesh.store.codec import activity_doc, locked_row, message_doc, reserved
from hotmesh.store.faults import mapped, mapped_verbs
from hotmesh.store.records import ActivityRow, JobRow, Message, NewMessage
from hotmesh.store.signals import KeepRules, SignalKeys, Taken


@dataclass(frozen=True, slots=True)
class StepWrite:
    """Everything one step writes, for the single-statement ``write_step``/``create_job``."""

    app_id: str
    job: JobRow
    delta: int
    expire: float | None
    activities: Sequence[ActivityRow]
    messages: Sequence[NewMessage]
    channel: str
    notes: Sequence[str]
    lease: float


class StepWritten(NamedTuple):
    """What ``write_step`` learnt: the job's new semaphore, the messages
    inserted already reserved for the writer, and the row's new version."""

    status: int
    reserved: list[Message]
    version: str


class JobCreated(NamedTuple):
    """What ``create_job`` learnt: the new row's key (``None`` for a live
    duplicate: nothing written), the reserved messages, the row's version."""

    pk: int | None
    reserved: list[Message]
    version: str


async def create_job(conn: Any, q: dict[str, str], w: StepWrite) -> JobCreated:
    job = w.job
    args = [
        w.app_id,
        job.job_id,
        job.gid,
        job.key,
        job.topic,
        job.version,
        w.delta,
        job.metadata,
        job.data,
        job.err,
        job.metadata.get("pj"),
        w.expire,
        activity_doc(w.activities),
        message_doc(w.messages),
        w.lease,
        w.channel,
        list(w.notes),
    ]
    with mapped():
        rows = await conn.fetch(q["create_job"], *args)
        if rows[0]["job_pk"] is None:
            await conn.execute(q["delete_expired_job"], w.app_id, job.job_id)
            rows = await conn.fetch(q["create_job"], *args)
    pk = rows[0]["job_pk"]
    if pk is None:
        return JobCreated(None, [], "")
    return JobCreated(int(pk), reserved(rows, w.messages), str(rows[0]["x"]))


def _step_args(w: StepWrite) -> list[Any]:
    job = w.job
    return [
        job.pk,
        w.delta,
        job.data,
        job.metadata,
        job.err,
        w.expire,
        activity_doc(w.activities),
        w.app_id,
        message_doc(w.messages),
        w.lease,
        w.channel,
        list(w.notes),
    ]


async def write_step(
    conn: Any,
    q: dict[str, str],
    w: StepWrite,
    message_ids: Sequence[int],
    owner: str,
    version: str | None,
) -> StepWritten:
    try:
        with mapped():
            rows = await conn.fetch(
                q["write_step"], *_step_args(w), list(message_ids), owner, version
            )
    except asyncpg.PostgresError as exc:
        if getattr(exc, "sqlstate", None) == "HM409":
            raise errors.StaleStateError(f"job {w.job.job_id}: stale state") from None
        raise
    status, version = int(rows[0]["status"]), str(rows[0]["x"])
    return StepWritten(status, reserved(rows, w.messages), version)


@mapped_verbs
class StoreTx:
    """Statements of one open transaction (one engine step)."""

    def __init__(
        self, conn: asyncpg.Connection, q: dict[str, str], schema: str = "hotmesh"
    ) -> None:
        self._conn = conn
        self._q = q
        #: signal keys: hooks, early signals, tombstones
        self.signals = SignalKeys(conn, schema)

    async def ack(self, message_id: int, owner: str) -> bool:
        """Delete a consumed message if ``owner`` still holds its reservation."""
        status = await self._conn.execute(self._q["ack"], message_id, owner)
        return bool(status == "DELETE 1")

    async def ack_and_lock(
        self, app_id: str, job_id: str, message_id: int, owner: str
    ) -> JobRow | None:
        """Delete the consumed message (if ``owner`` still holds it) and lock its job.

        ``None`` when the lease was lost or the job is gone; either way there is
        nothing to apply.
        """
        job, _acked = await self.ack_and_lock_many(app_id, job_id, [message_id], owner)
        return job

    async def ack_and_lock_many(
        self, app_id: str, job_id: str, message_ids: Sequence[int], owner: str
    ) -> tuple[JobRow | None, set[int]]:
        """``ack_and_lock`` for several messages of one job: the locked job and the
        ids this owner still held (the others were taken over and are skipped)."""
        row = await self._conn.fetchrow(
            self._q["ack_and_lock_many"], app_id, job_id, list(message_ids), owner
        )
        if row is None:
            return None, set()
        return locked_row(row), set(row["acked"] or ())

    async def write_step(self, w: StepWrite) -> StepWritten:
        """Semaphore delta, data, activity rows, messages and NOTIFYs in one
        statement (the job row locked); returns the new status, the reserved
        messages and the row's new version (xmin)."""
        return await write_step(self._conn, self._q, w, [], "", None)

    async def write_step_cas(
        self, w: StepWrite, message_ids: Sequence[int], owner: str, version: str
    ) -> StepWritten:
        """``write_step`` from cached state: also acks ``message_ids``, and raises
        ``StaleStateError`` (writing nothing) unless the job row is still at
        ``version`` and every message was still held by ``owner``."""
        return await write_step(self._conn, self._q, w, message_ids, owner, version)

    async def create_job(self, w: StepWrite) -> JobCreated:
        """Insert a new job with its rows and messages; ``None`` for a live duplicate."""
        return await create_job(self._conn, self._q, w)

    async def insert_messages(
        self, app_id: str, messages: Sequence[NewMessage], lease: float = 30.0
    ) -> list[Message]:
        """Insert stream messages; returns the ones inserted already reserved."""
        if not messages:
            return []
        rows = await self._conn.fetch(
            self._q["insert_messages"], app_id, message_doc(messages), lease
        )
        return reserved(rows, messages)

    async def dedupe(self, app_id: str, key: str, job_id: str, window: float) -> str:
        """Take dedupe ``key`` for ``job_id`` for ``window`` seconds unless a live
        row holds it; returns the holder's job id (``job_id`` when taken)."""
        took = await self._conn.fetchval(
            self._q["dedupe_take"], app_id, key, job_id, window
        )
        if took is not None:
            await self._conn.execute(self._q["dedupe_prune"], app_id)
            return str(took)
        return str(await self._conn.fetchval(self._q["dedupe_holder"], app_id, key))

    async def link_rerun(self, app_id: str, job_id: str, rerun_of: str) -> None:
        """Record that job ``job_id`` (written in this transaction) re-runs ``rerun_of``."""
        await self._conn.execute(self._q["rerun_link"], app_id, job_id, rerun_of)

    async def get_plan(self, app_id: str, version: str) -> dict[str, Any] | None:
        """The stored plan document, read on this transaction's connection."""
        doc = await self._conn.fetchval(self._q["get_version"], app_id, version)
        return doc if isinstance(doc, dict) else None

    def savepoint(self) -> Any:
        """A nested transaction (savepoint) as an async context manager."""
        return self._conn.transaction()

    async def notify(self, channel: str, payloads: Sequence[str]) -> None:
        """NOTIFY inside the transaction (delivered only if it commits)."""
        if payloads:
            await self._conn.execute(self._q["notify"], channel, list(payloads))

    async def lock_job(self, app_id: str, job_id: str) -> JobRow | None:
        """Lock a live job row (with its activity rows) for a step not driven by a message."""
        row = await self._conn.fetchrow(self._q["lock_job"], app_id, job_id)
        return None if row is None else locked_row(row)

    # -- signals (the statements are in store/signals.py) -------
    async def register_hook(
        self, app_id: str, key: str, job_pk: int, target: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Register a waiting hook; returns early signals to deliver to it now."""
        return await self.signals.register_hook(app_id, key, job_pk, target)

    async def take_signal(
        self, app_id: str, key: str, signal: dict[str, Any], keep: KeepRules
    ) -> Taken:
        """Resume the hook waiting on ``key``, or keep ``signal`` by ``keep``'s rules."""
        return await self.signals.take_signal(app_id, key, signal, keep)

    async def unregister_hooks(
        self, app_id: str, keys: Sequence[str], job_pk: int
    ) -> None:
        """Drop this job's registrations under ``keys`` (a timer won the race)."""
        await self.signals.unregister_hooks(app_id, list(keys), job_pk)

    async def open_escalation(
        self, app_id: str, job_id: str, row: dict[str, Any]
    ) -> None:
        """Open (or refresh) the pending escalation of a waiting hook."""
        await self._conn.execute(
            self._q["escalation_open"],
            app_id,
            row["signal_key"],
            row["topic"],
            job_id,
            row["activity_id"],
            row["type"],
            row["subtype"],
            row["role"],
            row["description"],
            row["priority"],
            row["metadata"],
            row["envelope"],
        )

    async def close_escalation(
        self, app_id: str, topic: str, key: str, status: str
    ) -> None:
        """Mark a pending escalation ``expired`` (or another final status)."""
        await self._conn.execute(
            self._q["escalation_close"], app_id, topic, key, status
        )

    async def cancel_escalations(self, app_id: str, job_id: str) -> None:
        """Cancel the pending escalations of an interrupted job."""
        await self._conn.execute(self._q["escalation_cancel_job"], app_id, job_id)

    async def resolve_escalation(
        self, app_id: str, escalation_id: str, payload: dict[str, Any]
    ) -> tuple[str, str] | None:
        """Mark a pending escalation resolved; its ``(topic, signal key)``."""
        row = await self._conn.fetchrow(
            self._q["escalation_resolve"], app_id, escalation_id, payload
        )
        return None if row is None else (row["topic"], row["signal_key"])

    async def add_facets(
        self, app_id: str, job_pk: int, job_id: str, facets: Sequence[str]
    ) -> None:
        """Index a new job under ``field:value`` facets."""
        await self._conn.execute(
            self._q["facets_insert"], app_id, job_pk, job_id, list(facets)
        )

    async def facet_jobs(self, app_id: str, facet: str, scrub: bool) -> list[str]:
        """Ids of active jobs indexed under ``facet`` (the index dropped if ``scrub``)."""
        rows = await self._conn.fetch(self._q["facet_jobs"], app_id, facet)
        if scrub:
            await self._conn.execute(self._q["facet_scrub"], app_id, facet)
        return [r["job_id"] for r in rows]

    async def active_children(self, app_id: str, job_id: str) -> list[str]:
        """Ids of the active child jobs of ``job_id``."""
        rows = await self._conn.fetch(self._q["active_children"], app_id, job_id)
        return [r["job_id"] for r in rows]
