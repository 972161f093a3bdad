"""The web console's reads (``dashboard.sql``): counts, charts, listings and one
job's rows. Read-only; the console changes state through HotMesh and MemFlow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hotmesh.store.faults import mapped_verbs
from hotmesh.store.migrate import quote_schema
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.sql import queries


@dataclass(frozen=True)
class JobFilter:
    """What ``jobs`` narrows the list by (``None``: no condition)."""

    app_id: str | None = None
    topic: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    job_prefix: str | None = None
    key_prefix: str | None = None
    data: dict[str, Any] | None = None


#: jobs counted exactly on the overview; past it, a sample
EXACT_UP_TO = 200_000
SAMPLE_PERCENT = 1.0
#: jobs a data filter reads per page at most (job data has no index)
DATA_SCAN = 5000
#: MemFlow's workflow topics: ``<namespace>.execute`` (memflow.yaml)
WORKFLOW_TOPICS = "%.execute"


def like_prefix(value: str | None) -> str | None:
    """A LIKE pattern matching values that start with ``value`` (its ``%``,
    ``_`` and ``\\`` taken literally), or None."""
    if value is None:
        return None
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _rows(found: list[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in found]


@mapped_verbs
class ConsoleReads:
    """The console's statements on one store's pool."""

    def __init__(self, store: PostgresStore) -> None:
        self._pool = store._pool  # same package: reads share the store's pool
        self._q = queries(quote_schema(store.schema), "dashboard.sql")

    @asynccontextmanager
    async def _custom_plans(self) -> AsyncIterator[Any]:
        """A connection whose statements are planned for their values
        (``dash_custom_plans``), in a read-only transaction."""
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            await conn.execute(self._q["dash_custom_plans"])
            yield conn

    async def state_counts(self) -> tuple[dict[str, int], bool]:
        """Jobs per state (``scheduled``, ``running``, ``done``, ``error``), and
        whether they are estimates: past ``EXACT_UP_TO`` jobs, a 1 % sample of
        the table's pages, scaled to the planner's row estimate."""
        estimate = await self._pool.fetchval(self._q["dash_job_estimate"])
        counts = {"scheduled": 0, "running": 0, "done": 0, "error": 0}
        if estimate is None or estimate <= EXACT_UP_TO:
            rows = await self._pool.fetch(self._q["dash_state_counts"])
            counts.update({str(r["state"]): int(r["n"]) for r in rows})
            return counts, False
        rows = await self._pool.fetch(self._q["dash_state_sample"], SAMPLE_PERCENT)
        seen = sum(int(r["n"]) for r in rows) or 1
        for r in rows:
            counts[str(r["state"])] = round(int(r["n"]) * float(estimate) / seen)
        return counts, True

    async def per_minute(self, since: datetime) -> list[dict[str, Any]]:
        """``{minute, done, failed}`` for each minute since ``since`` with any
        (as the processes' heartbeats tallied them)."""
        return _rows(await self._pool.fetch(self._q["dash_per_minute"], since))

    async def backlog(self) -> list[dict[str, Any]]:
        """Waiting messages per app and stream, with the oldest one's age."""
        return _rows(await self._pool.fetch(self._q["dash_backlog"]))

    async def processes(self) -> list[dict[str, Any]]:
        """The process registry, live ones first, with ``stale`` and ``beat_age``."""
        return _rows(await self._pool.fetch(self._q["dash_processes"]))

    async def failures(self, limit: int) -> list[dict[str, Any]]:
        """The newest failed jobs."""
        return _rows(await self._pool.fetch(self._q["dash_failures"], limit))

    async def jobs(
        self, where: JobFilter, after: tuple[datetime, int] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Jobs newest first, after the ``(created_at, pk)`` cursor."""
        async with self._custom_plans() as conn:
            rows = await conn.fetch(
                self._q["dash_jobs"],
                where.app_id,
                where.topic,
                where.state,
                where.since,
                where.until,
                like_prefix(where.job_prefix),
                like_prefix(where.key_prefix),
                where.data,
                after[0] if after else None,
                after[1] if after else None,
                limit,
            )
        return _rows(rows)

    async def jobs_scan(
        self, where: JobFilter, after: tuple[datetime, int] | None, limit: int
    ) -> tuple[list[dict[str, Any]], int, tuple[datetime, int] | None]:
        """Jobs whose data contains ``where.data``, newest first, among the next
        ``DATA_SCAN`` jobs after the cursor that pass the other filters: the
        matches (at most ``limit``), how many jobs were read, and the cursor of
        the oldest read (``None`` when none was)."""
        async with self._custom_plans() as conn:
            rows = await conn.fetch(
                self._q["dash_jobs_scan"],
                where.app_id,
                where.topic,
                where.state,
                where.since,
                where.until,
                like_prefix(where.job_prefix),
                like_prefix(where.key_prefix),
                where.data,
                after[0] if after else None,
                after[1] if after else None,
                limit,
                DATA_SCAN,
            )
        hits = [dict(r) for r in rows if not r["edge"]]
        edge = next((r for r in rows if r["edge"]), None)
        if edge is None:
            return hits, 0, None
        return hits, int(edge["scanned"]), (edge["created_at"], int(edge["id"]))

    async def workflows(
        self,
        name: str | None,
        task_queue: str | None,
        state: str | None,
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """MemFlow workflows newest first, after the ``(created_at, pk)`` cursor."""
        topics = [
            str(r["topic"])
            for r in await self._pool.fetch(
                self._q["dash_workflow_topics"], WORKFLOW_TOPICS
            )
        ]
        async with self._custom_plans() as conn:
            rows = await conn.fetch(
                self._q["dash_workflows"],
                name,
                task_queue,
                state,
                after[0] if after else None,
                after[1] if after else None,
                limit,
                topics,
            )
        return _rows(rows)

    async def job(self, job_id: str, app_id: str | None) -> list[dict[str, Any]]:
        """The rows with this job id (of ``app_id`` when given), newest first."""
        return _rows(await self._pool.fetch(self._q["dash_job"], job_id, app_id))

    async def activities(self, pk: int) -> list[dict[str, Any]]:
        """A job's activity rows in start order."""
        return _rows(await self._pool.fetch(self._q["dash_activities"], pk))

    async def child_tree(self, app_id: str, job_id: str) -> list[dict[str, Any]]:
        """A job's descendants (``depth`` 1 = children)."""
        return _rows(await self._pool.fetch(self._q["dash_child_tree"], app_id, job_id))

    async def open_hooks(self, pk: int) -> list[dict[str, Any]]:
        """The signal keys a job waits on."""
        return _rows(await self._pool.fetch(self._q["dash_open_hooks"], pk))

    async def reruns(self, app_id: str, job_id: str) -> list[dict[str, Any]]:
        """``{way, job_id, created_at}``: the job this one re-ran (``of``) and
        the jobs that re-ran it (``by``, newest first)."""
        return _rows(await self._pool.fetch(self._q["dash_reruns"], app_id, job_id))

    async def job_escalations(self, app_id: str, job_id: str) -> list[dict[str, Any]]:
        """A job's escalations."""
        rows = await self._pool.fetch(self._q["dash_job_escalations"], app_id, job_id)
        return _rows(rows)

    async def escalations(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        """Escalations of every app, most urgent first."""
        rows = await self._pool.fetch(self._q["dash_escalations"], status, limit)
        return _rows(rows)

    async def versions(self, app_id: str) -> list[dict[str, Any]]:
        """Every version of an app with its plan document, newest first."""
        return _rows(await self._pool.fetch(self._q["dash_versions"], app_id))

    async def activity_stats(
        self, app_id: str, version: str, jobs: int
    ) -> dict[str, dict[str, Any]]:
        """Per activity over the newest ``jobs`` jobs: runs, errors, p50, p95 (ms)."""
        rows = await self._pool.fetch(
            self._q["dash_activity_stats"], app_id, version, jobs
        )
        return {str(r["activity_id"]): dict(r) for r in rows}
