"""Read-only listings and the escalation queue: the verbs the CLI, the
escalation API and tooling call (not the engine)."""

from __future__ import annotations

from typing import Any

import asyncpg


class ListingVerbs:
    """Mixed into ``PostgresStore``: statements on its pool's spare connections."""

    _pool: asyncpg.Pool
    _q: dict[str, str]

    # -- read-only listings (CLI, tooling) ---------------------------------------
    async def list_apps(self) -> list[dict[str, Any]]:
        """Every deployed version: ``app_id, version, deployed_at, active``."""
        return [dict(r) for r in await self._pool.fetch(self._q["list_apps"])]

    async def list_jobs(
        self, app_id: str | None, status: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Newest jobs first; ``status`` is ``scheduled``, ``running``, ``done``, ``error`` or None."""
        rows = await self._pool.fetch(self._q["list_jobs"], app_id, status, limit)
        return [dict(r) for r in rows]

    async def job_apps(self, job_id: str) -> list[str]:
        """The apps that have a job with this id (live or expired)."""
        rows = await self._pool.fetch(self._q["job_apps"], job_id)
        return [str(r["app_id"]) for r in rows]

    async def job_summary(self, app_id: str, job_id: str) -> dict[str, Any] | None:
        """The job row's columns without its data (timestamps, parent, semaphore)."""
        row = await self._pool.fetchrow(self._q["job_summary"], app_id, job_id)
        return None if row is None else dict(row)

    async def child_jobs(self, app_id: str, job_id: str) -> list[dict[str, Any]]:
        """Jobs whose ``parent_job_id`` is ``job_id``, oldest first."""
        rows = await self._pool.fetch(self._q["child_jobs"], app_id, job_id)
        return [dict(r) for r in rows]

    # -- figures (observable gauges, ``hotmesh stats``) ---------------------------
    async def stats(self, app_id: str, window: float = 60.0) -> dict[str, Any]:
        """``backlog`` (stream -> ready, oldest age in s), ``jobs`` (status ->
        count) and ``throughput`` (started, ended, failed in the last ``window`` s)."""
        async with self._pool.acquire() as conn:
            backlog = await conn.fetch(self._q["stats_backlog"], app_id)
            jobs = await conn.fetch(self._q["stats_jobs"], app_id)
            flow = await conn.fetchrow(self._q["stats_throughput"], app_id, window)
        return {
            "backlog": {
                str(r["stream"]): (int(r["ready"]), float(r["oldest"] or 0.0))
                for r in backlog
            },
            "jobs": {str(r["status"]): int(r["jobs"]) for r in jobs},
            "throughput": dict(flow) if flow is not None else {},
            "window": window,
        }

    # -- escalations -----------------------------------------------------------
    async def list_escalations(
        self, app_id: str, status: str | None, role: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Escalation rows, most urgent first."""
        rows = await self._pool.fetch(
            self._q["escalation_list"], app_id, status, role, limit
        )
        return [dict(r) for r in rows]

    async def get_escalation(
        self, app_id: str, escalation_id: str
    ) -> dict[str, Any] | None:
        """One escalation row by id."""
        row = await self._pool.fetchrow(
            self._q["escalation_get"], app_id, escalation_id
        )
        return None if row is None else dict(row)

    async def escalation_by_key(
        self, app_id: str, signal_key: str
    ) -> dict[str, Any] | None:
        """The newest escalation row for a signal key (usually the job id)."""
        row = await self._pool.fetchrow(
            self._q["escalation_by_key"], app_id, signal_key
        )
        return None if row is None else dict(row)

    async def claim_escalation(
        self, app_id: str, escalation_id: str, assignee: str, seconds: float
    ) -> bool:
        """Assign a pending row to ``assignee`` for ``seconds`` (if free or expired)."""
        row = await self._pool.fetchval(
            self._q["escalation_claim"], app_id, escalation_id, assignee, seconds
        )
        return row is not None

    async def release_escalation(self, app_id: str, escalation_id: str) -> bool:
        """Unassign a pending row."""
        row = await self._pool.fetchval(
            self._q["escalation_release"], app_id, escalation_id
        )
        return row is not None

    # -- searches (search.sql) ---------------------------------------------------
    async def search_jobs(
        self,
        app_id: str,
        topic: str,
        fields: dict[str, Any],
        task_queue: str | None = None,
        workflow_name: str | None = None,
        limit: int = 1000,
    ) -> list[str]:
        """Ids of live jobs on ``topic`` whose data contains ``fields``, oldest
        first (MemFlow's ``search``: ``taskQueue``/``workflowName`` narrow it)."""
        rows = await self._pool.fetch(
            self._q["search_jobs"],
            app_id,
            topic,
            task_queue,
            workflow_name,
            fields,
            limit,
        )
        return [str(r["job_id"]) for r in rows]

    async def job_work(self, app_id: str, job_ids: list[str]) -> list[dict[str, Any]]:
        """The queued work messages of these jobs (``job_work`` in search.sql)."""
        rows = await self._pool.fetch(self._q["job_work"], app_id, job_ids)
        return [dict(r) for r in rows]

    async def list_workflows(
        self,
        app_id: str,
        topic: str,
        filters: dict[str, Any],
        after: tuple[Any, int] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """MemFlow workflows, newest first, with their outcome (``list_workflows``
        in search.sql); ``filters``: ``workflow_name``, ``task_queue``,
        ``status``, ``started_after``, ``started_before``, ``search``."""
        rows = await self._pool.fetch(
            self._q["list_workflows"],
            app_id,
            topic,
            filters.get("workflow_name"),
            filters.get("task_queue"),
            filters.get("status"),
            filters.get("started_after"),
            filters.get("started_before"),
            filters.get("search"),
            None if after is None else after[0],
            None if after is None else after[1],
            limit,
        )
        return [dict(r) for r in rows]

    # -- tooling ---------------------------------------------------------------
    async def xact_commits(self) -> int:
        """``pg_stat_database.xact_commit`` for this database (benchmarks)."""
        value = await self._pool.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(value)
