"""The job-control half of the ``HotMesh`` client: signal, interrupt, add, and
reading a job's state (a mixin of ``HotMesh``, to keep each module small)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hotmesh import errors, ids
from hotmesh.engine import step
from hotmesh.engine.effects import KeepRequest
from hotmesh.engine.engine import Engine
from hotmesh.engine.history import export_job
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.records import JobRow


class JobControl:
    """Signals, interrupts and job reads of one app (``HotMesh`` inherits them)."""

    app_id: str
    engine: Engine
    store: PostgresStore

    async def signal(
        self,
        topic: str,
        data: dict[str, Any],
        status: str = "success",
        code: int = 200,
        *,
        keep: bool = False,
        job_id: str | None = None,
    ) -> str | None:
        """Resume the job whose hook waits on ``topic`` for this payload.

        Returns the resumed job's id. When no hook waits yet, the signal is
        kept (``signal_ttl``, default 600 s; at most ``signal_max_pending``
        signals and ``signal_max_bytes`` a key) and delivered when the hook
        registers, and ``None`` is returned, if a running job is known to
        want it: the job whose hook last took this key, the job ``job_id``,
        or, for a hook matching on ``{$job.metadata.jid}``, the job whose id
        is the key. ``keep=True`` keeps it even when no such job runs yet (a
        job that has not started). Otherwise nothing is kept:
        ``JobInactiveError`` when the key's job has finished (a late signal
        must not resume a later job that reuses the id), ``SignalNotKeptError``
        when no job is known or the key is at its bound. Code 202 keeps the
        hook open for more signals.
        """
        ids.check(topic, "topic")
        if job_id is not None:
            ids.check(job_id, "job id")
        request = KeepRequest(bool(keep), job_id)
        return await self.engine.signal(topic, dict(data), status, int(code), request)

    async def early_signals(
        self, job_id: str | None = None, topic: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Signals kept for hooks that have not registered yet, oldest first:
        ``{key, count, bytes, job_id, created_at, expires_at}`` (``job_id``:
        the job they are kept for, ``None`` when kept with ``keep=True``).
        Only those kept for ``job_id``, or on ``topic``, when given."""
        if job_id is not None:
            ids.check(job_id, "job id")
        prefix = None if topic is None else f"{ids.check(topic, 'topic')}:"
        return await self.store.early_signals(self.app_id, job_id, prefix, int(limit))

    hook = signal

    async def interrupt(
        self,
        topic: str,
        job_id: str,
        reason: str | None = None,
        throw: bool = True,
        code: int = 410,
        expire: float | None = None,
        descend: bool = False,
        suppress: bool = False,
    ) -> bool:
        """Stop a running job now.

        The job ends with ``metadata.err`` ``{code, message, job_id}`` unless
        ``throw`` is false, and publishes its current data; an awaiting parent
        learns of it. ``descend`` interrupts every descendant job too.
        ``JobInactiveError`` if it already finished (``False`` with ``suppress``).
        """
        ids.check(topic, "topic")
        ids.check(job_id, "job id")
        options: dict[str, Any] = {"throw": throw, "code": code, "descend": descend}
        if reason is not None:
            options["reason"] = reason
        if expire is not None:
            options["expire"] = expire
        return await self.engine.interrupt(job_id, options, suppress)

    async def add(self, response: dict[str, Any]) -> None:
        """Send another response for a worker activity left open by a 202 (``def/v3``).

        ``response["metadata"]`` is the metadata of the original work message.
        """
        await self.engine.add(response)

    async def _job(self, job_id: str) -> JobRow:
        # A finished job stays readable until it is pruned (``retention`` after
        # it expires), as the CLI shows it: ``expire`` only frees its id.
        ids.check(job_id, "job id")
        job = await self.engine.read(job_id, include_expired=True)
        if job is None:
            raise errors.JobNotFoundError(job_id)
        return job

    async def get_state(self, topic: str, job_id: str) -> dict[str, Any]:
        """The job output ``{metadata, data?}`` (a finished job's until it is pruned)."""
        return step.job_output(await self._job(job_id))

    async def get_status(self, job_id: str) -> int:
        """The job semaphore: > 0 running, 0 complete."""
        return (await self._job(job_id)).status

    async def export(self, job_id: str) -> dict[str, Any]:
        """The full execution history of a job."""
        ids.check(job_id, "job id")
        job = await self.engine.read(job_id, include_expired=True, with_activities=True)
        if job is None:
            raise errors.JobNotFoundError(job_id)
        return export_job(job)

    async def rerun(self, job_id: str) -> str:
        """Run a job again: a new job on the same topic with the same input (its
        trigger's), on the active version, linked to ``job_id`` in the
        ``reruns`` table (the console shows the link on both job pages).
        Returns the new job's id."""
        ids.check(job_id, "job id")
        job = await self.engine.read(job_id, include_expired=True, with_activities=True)
        if job is None:
            raise errors.JobNotFoundError(job_id)
        trigger = next((a for a in job.activities if a.type == "trigger"), None)
        given = trigger.input if trigger is not None else None
        data = dict(given) if isinstance(given, dict) else {}
        commit = await self.engine.prepare(job.topic, data)
        await self.engine.start_rerun(commit, job_id)
        return commit.job.job_id

    async def scrub(self, job_id: str) -> None:
        """Delete a job and its history."""
        ids.check(job_id, "job id")
        await self.store.scrub(self.app_id, job_id)


def job_result(job_id: str, output: dict[str, Any]) -> dict[str, Any]:
    """A finished job's output, or its error raised as ``JobError``."""
    err = output["metadata"].get("err")
    if err is not None:
        try:
            error = json.loads(err)
        except ValueError:
            error = {"message": err}
        raise errors.JobError(
            job_id, error if isinstance(error, dict) else {"message": error}
        )
    return output


async def outcome(
    fut: asyncio.Future[dict[str, Any] | None], timeout: float
) -> dict[str, Any] | None:
    """What a ``pubsub`` waiter got within ``timeout`` seconds; ``None`` when
    it got nothing in time (the caller then reads the job) or a completion
    without its output. A timer, not ``wait_for(shield(fut))``: two futures
    and three callbacks less per job (issue 21)."""
    if fut.done():
        return fut.result()
    if timeout <= 0:
        return None
    timer = asyncio.get_running_loop().call_later(timeout, _expire, fut)
    try:
        return await fut
    finally:
        timer.cancel()


def _expire(fut: asyncio.Future[dict[str, Any] | None]) -> None:
    if not fut.done():
        fut.set_result(None)
