"""The async engine shell's entry points: start jobs, signal, interrupt, and
handle engine-stream and worker messages.

The shell loads the job, calls the pure step (``engine.step``) and commits it in
one transaction; its parts live in ``base``, ``effects``, ``batcher`` and
``children``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hotmesh import errors, telemetry
from hotmesh.engine import notes, step
from hotmesh.engine.batcher import Batcher
from hotmesh.engine.children import Children
from hotmesh.engine.effects import KeepRequest
from hotmesh.engine.metadata import Address
from hotmesh.engine.payload import (
    json_problem,
    response_step,
    size_over,
    size_reason,
    worker_response,
)
from hotmesh.engine.waiting import waits
from hotmesh.graph.inputs import input_problem
from hotmesh.store.records import (
    ENGINE_STREAM,
    JobRow,
    Message,
    NewMessage,
)
from hotmesh.telemetry import logs

log = logs.get("hotmesh.engine")


class Engine(Batcher, Children):
    """Runs steps for one app on one store; ``events`` wakes local consumers."""

    # -- entry points --------------------------------------------------------
    async def pub(
        self,
        topic: str,
        data: dict[str, Any],
        job_id: str | None = None,
        pending: float | None = None,
    ) -> str:
        """Run a trigger (inline, one transaction) and return the job id."""
        commit = await self.prepare(topic, data, job_id, pending)
        await self.start(commit)
        return commit.job.job_id

    async def prepare(
        self,
        topic: str,
        data: dict[str, Any],
        job_id: str | None = None,
        pending: float | None = None,
        start_at: datetime | None = None,
        priority: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> step.StepCommit:
        """The trigger step of a new job, not yet committed (``start_at``: scheduled;
        ``metadata``: added to the job's)."""
        plan = await self.active_plan()
        graph = plan.graph_for_topic(topic)
        if graph is None:
            raise errors.UnknownTopicError(
                f"app '{self.app_id}' version '{plan.version}' has no graph subscribed to "
                f"'{topic}'"
            )
        self._check_size(topic, data)  # first: every later walk is as long as the data
        if graph.input_schema:
            problem = input_problem(graph.input_schema, data)
            if problem is not None:
                raise errors.InputValidationError(topic, *problem)
        stored = json_problem(data)  # NUL, sets, bytes...: refused before any write
        if stored is not None:
            raise errors.InputValidationError(topic, *stored)
        return step.trigger(
            plan,
            graph,
            data,
            self.clock.now(),
            job_id=job_id,
            pending=pending,
            max_cycles=self.max_cycles,
            max_steps=self.max_steps,
            start_at=start_at,
            extra=metadata,
            priority=priority,
            topic_keys=self.topic_keys,
        )

    def _check_size(self, topic: str, data: Any) -> None:
        """``InputValidationError`` for data over ``max_data_bytes``, found
        after walking at most that much of it."""
        measured = size_over(data, self.max_data_bytes)
        if measured is not None:
            raise errors.InputValidationError(
                topic, "", size_reason(measured, self.max_data_bytes)
            )

    async def start(self, commit: step.StepCommit) -> None:
        """Commit a prepared trigger step (``DuplicateJobError`` for a live duplicate)."""
        self._woken(await self._write(None, commit))  # one autocommitted statement

    async def start_once(self, commit: step.StepCommit, key: str, window: float) -> str:
        """Commit a trigger step unless a job took dedupe ``key`` less than
        ``window`` seconds ago; the id of the job holding the key either way."""
        async with self.store.transaction() as tx:
            holder = await tx.dedupe(self.app_id, key, commit.job.job_id, window)
            if holder != commit.job.job_id:
                return holder
            written = await self._write(tx, commit)
        self._woken(written)
        return commit.job.job_id

    async def start_rerun(self, commit: step.StepCommit, rerun_of: str) -> None:
        """Commit a prepared trigger step with the link to the job it re-runs."""
        async with self.store.transaction() as tx:
            written = await self._write(tx, commit)
            await tx.link_rerun(self.app_id, commit.job.job_id, rerun_of)
        self._woken(written)

    async def signal(
        self,
        topic: str,
        data: dict[str, Any],
        status: str = "success",
        code: int = 200,
        request: KeepRequest | None = None,
    ) -> str | None:
        """Resume the job whose hook waits on this signal; ``None`` if none waits yet
        and the signal was kept (see ``HotMesh.signal`` for when it is)."""
        self._check_size(topic, data)
        problem = json_problem(data)
        if problem is not None:
            raise errors.InputValidationError(topic, *problem)
        plan = await self.active_plan()
        extra: list[NewMessage] = []
        async with self.store.transaction() as tx:
            job_id = await self._signal(
                tx,
                plan,
                topic,
                data,
                status,
                code,
                extra,
                None,
                request or KeepRequest(),
            )
            await self._enqueue(tx, extra)
        for msg in extra:
            self.events.wake(msg.stream, 0.0)
        return job_id

    async def interrupt(
        self, job_id: str, options: dict[str, Any], suppress: bool = False
    ) -> bool:
        """Interrupt a running job now; ``False`` (with ``suppress``) if it is not running."""
        async with self.store.transaction() as tx:
            job = await tx.lock_job(self.app_id, job_id)
            if job is None:
                if suppress:
                    return False
                raise errors.JobNotFoundError(job_id)
            plan = await self.plan(job.version, tx)
            commit = step.interrupt(plan, job, options, self.clock.now())
            if commit.dropped is not None:
                if suppress:
                    return False
                raise errors.JobInactiveError(job_id)
            written = await self._write(tx, commit)
        self._woken(written)
        return True

    async def add(self, response: dict[str, Any]) -> None:
        """Publish an extra worker response for an open activity (after a 202)."""
        md = dict(response.get("metadata") or {})
        self._check_size(str(md.get("topic") or "add"), response.get("data"))
        for field in ("data", "status", "code"):
            problem = json_problem(response.get(field))
            if problem is not None:  # refused here, not by the database later
                raise errors.InputValidationError(
                    str(md.get("topic") or "add"), f"/{field}{problem[0]}", problem[1]
                )
        payload = {
            "metadata": Address.from_metadata(md).to_metadata(),
            "status": response.get("status") or "success",
            "code": response.get("code"),
            "data": response.get("data"),
        }
        msg = NewMessage(
            ENGINE_STREAM,
            "response",
            payload,
            str(md.get("jid")),
            step.PRIORITY["response"],
        )
        async with self.store.transaction() as tx:
            await self._enqueue(tx, [msg])
        self.events.wake(ENGINE_STREAM, 0.0)

    async def handle(self, msg: Message) -> None:
        """Process one engine-stream message."""
        md = msg.payload.get("metadata", {})
        jid = md.get("jid") or msg.payload.get("parent", {}).get("pj")
        with logs.context(self.app_id, jid, md.get("aid"), "", md):
            await self._handle(msg)

    async def _handle(self, msg: Message) -> None:
        if msg.attempts > 1:
            telemetry.meters.add(
                "hotmesh.claims.reclaimed",
                {"hotmesh.app": self.app_id, "hotmesh.topic": "$engine"},
            )
        if msg.type == "timehook" and "due" in msg.payload:
            telemetry.meters.record(
                "hotmesh.timer.lateness",
                max(0.0, self.clock.now().timestamp() - float(msg.payload["due"])),
                {"hotmesh.app": self.app_id},
            )
        if msg.attempts > self.poison_threshold:
            # Claimed again and again without finishing (say, it crashes its
            # process): give up on it and close its job with the error.
            md = msg.payload.get("metadata", {})
            log.error("message %s claimed %d times: poison", msg.id, msg.attempts)
            telemetry.meters.add(
                "hotmesh.messages.poison",
                {"hotmesh.app": self.app_id, "hotmesh.topic": "$engine"},
            )
            await self._fail(
                msg.id,
                str(md.get("jid") or msg.payload.get("parent", {}).get("pj")),
                errors.HotMeshError(
                    f"poison message: a '{msg.type}' message was claimed {msg.attempts} "
                    "times without completing"
                ),
            )
            return
        if msg.type == "await":
            await self._start_child(msg)
        else:
            md = msg.payload.get("metadata", {})
            await self.run_step(msg.id, str(md.get("jid")), msg.type, msg.payload)

    async def give_up(self, msg: Message, exc: Exception) -> None:
        """Fail the job of ``msg``, whose step raised an error that is not the
        database being away: it would fail the same way on every claim, in
        every process (see ``router.retrying``)."""
        md = msg.payload.get("metadata", {})
        job_id = md.get("jid") or msg.payload.get("parent", {}).get("pj")
        await self._fail(
            msg.id,
            str(job_id),
            errors.HotMeshError(
                f"a '{msg.type}' step failed with an error that is not a lost "
                f"connection, so it is not retried: {type(exc).__name__}: "
                f"{str(exc)[:300]}"
            ),
        )

    async def worker_done(self, msg: Message, response: Any) -> None:
        """Ack a worker message and apply the activity's Leg 2 in the same transaction."""
        # a wrong shape, or too much data, becomes an error 500
        response = worker_response(response, self.max_data_bytes)
        md = dict(msg.payload.get("metadata", {}))
        if response is None:  # "I will answer later through hm.add"
            await self.store.ack_waiting(
                msg.id,
                self.owner,
                self.app_id,
                str(md.get("jid")),
                str(md.get("aid")),
                str(md.get("dad")),
                str(md.get("topic")),
            )
            return
        status = response.get("status") or "success"
        code = response.get("code")
        if status == "error" and await self._retry(msg, md, code, response):
            return
        payload = response_step(md, response, status, code)
        await self.run_step(msg.id, str(md.get("jid")), "response", payload)

    async def _retry(
        self,
        msg: Message,
        md: dict[str, Any],
        code: Any,
        response: Mapping[str, Any] | None = None,
    ) -> bool:
        """Republish a failed work message after its back-off.

        A structured policy (the worker's, or one carried by the message) wins
        over the activity's YAML ``retry`` map. The message carries this
        attempt's failure (``lastFailure``) for whoever describes the job.
        """
        again = await self._again(
            msg.payload, md, code, response, msg.priority, msg.ckey, msg.rkey
        )
        if again is None:
            return False
        async with self.store.transaction() as tx:
            if not await tx.ack(msg.id, self.owner):
                return True
            await tx.insert_messages(self.app_id, [again])
            note = notes.Messages(self.app_id, again.stream, again.delay, self.owner)
            await tx.notify(self.store.channel, [notes.encode(note)])
        self.events.wake(again.stream, again.delay)
        return True

    async def waits(self, job_id: str) -> list[str]:
        """What a running job waits on, for a timeout's message (best effort)."""
        try:
            job = await self.read(job_id, with_activities=True)
            if job is None:
                return []
            return waits(await self.plan(job.version), job)
        except errors.HotMeshError:  # the message still says the job runs
            return []

    async def read(
        self, job_id: str, include_expired: bool = False, with_activities: bool = False
    ) -> JobRow | None:
        """The job row."""
        return await self.store.read_job(
            self.app_id, job_id, with_activities, include_expired
        )


def finished(job: JobRow) -> bool:
    """A job is finished when its semaphore is at (or below) zero."""
    return job.status <= 0


__all__ = ["ENGINE_STREAM", "Engine", "finished"]
