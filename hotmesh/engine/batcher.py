"""Group commit: steps for one job that arrive while one of its steps runs here
wait, then run together in one transaction.

A step first tries the job's cached state (one statement guarded by the row
version), then a locked batch, then its messages one by one so only a bad one
fails.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hotmesh import errors
from hotmesh.compiler import Plan
from hotmesh.engine import step
from hotmesh.engine.commit import Written, advance, combine
from hotmesh.engine.inline import After, Inline, run_after
from hotmesh.store.records import JobRow
from hotmesh.telemetry import logs

log = logs.get("hotmesh.engine")
#: most steps of one job run in one group commit (each costs the job's size)
MAX_BATCH = 8


class Batcher(Inline):
    """Applies engine-stream steps to jobs, batched per job."""

    async def run_step(
        self, message_id: int, job_id: str, kind: str, payload: dict[str, Any]
    ) -> None:
        """Ack ``message_id`` and apply its step to the job, in one transaction.

        Steps for a job that is already being stepped in this process wait and
        then run together, in one transaction (group commit): a fan-in of N
        branches takes a few transactions instead of N lock waits.
        """
        if job_id in self._running:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._pending.setdefault(job_id, []).append(
                (message_id, kind, payload, fut)
            )
            await fut  # the running batch of this job picks it up
            return
        # Nothing of this job waits or runs here: this step leads, first in
        # the first batch, and needs no future of its own (issue 21).
        self._pending[job_id] = [(message_id, kind, payload, None)]
        self._running.add(job_id)
        failed: Exception | None = None
        try:
            first = True
            while batch := self._next_batch(job_id):
                try:
                    await self._run_batch(job_id, batch)
                except Exception as exc:  # rolled back: each caller retries its own
                    _settle(batch, exc)
                    if first:
                        failed = exc
                else:
                    _settle(batch, None)
                first = False
        finally:
            self._running.discard(job_id)
            # Cancelled while others waited: they must not wait for ever.
            _settle(self._pending.pop(job_id, []), RuntimeError("step runner stopped"))
        if failed is not None:
            raise failed

    def _next_batch(self, job_id: str) -> list[tuple[int, str, dict[str, Any], Any]]:
        """The next waiting steps of ``job_id``, at most ``MAX_BATCH`` of them: one
        job's flood of steps runs in bounded pieces, yielding between them."""
        waiting = self._pending.pop(job_id, [])
        if len(waiting) > MAX_BATCH:
            self._pending[job_id] = waiting[MAX_BATCH:]
        return waiting[:MAX_BATCH]

    async def _run_batch(
        self, job_id: str, batch: list[tuple[int, str, dict[str, Any], Any]]
    ) -> None:
        # A step that failed on a state is not evaluated again on the same
        # state (its expressions run once; issue 20 §6): the locking path
        # reuses the failure when the locked row is the state it failed on.
        failed: _StepFailed | None = None
        cached = self.states.get(job_id)
        if cached is not None:
            try:
                if await self._apply_cached(batch, *cached):
                    return
            except errors.RETRYABLE:
                self.states.drop(job_id)
                raise  # the database is away: the consumer retries
            except _StepFailed as exc:
                failed = exc.untraced()
            except errors.HotMeshError:
                pass  # stale: the locking path handles it
            except BaseException:
                self.states.drop(job_id)
                raise
            self.states.drop(job_id)
        if len(batch) > 1 and failed is None:
            try:
                await self._apply_many(job_id, batch)
                return
            except errors.RETRYABLE:
                raise  # not the batch's fault: each caller retries its own
            except errors.HotMeshError as exc:
                # Rolled back: apply them one by one so only the bad one fails.
                log.warning(
                    "job %s: batch of %d rolled back (%s)", job_id, len(batch), exc
                )
        for message_id, kind, payload, _fut in batch:
            known = (
                failed
                if failed is not None and failed.message_id == message_id
                else None
            )
            await self._apply_one(message_id, job_id, kind, payload, known)

    def _step(
        self, plan: Plan, job: JobRow, kind: str, payload: dict[str, Any]
    ) -> step.StepCommit:
        """One step of ``job``, at the engine's clock and within its budgets."""
        return step.apply(
            plan, job, kind, payload, self.clock.now(), self.max_cycles, self.max_steps,
            self.topic_keys,
        )  # fmt: skip

    async def _apply_cached(
        self,
        batch: list[tuple[int, str, dict[str, Any], Any]],
        job: JobRow,
        version: str,
    ) -> bool:
        """Apply ``batch`` to the cached state of its job and write it in one
        statement guarded by the row version (one round trip instead of four).

        ``False`` when the locking path must run it instead (a step that drops
        its message); ``StaleStateError`` when the row changed meanwhile.
        """
        plan = self._plans.get(job.version)
        if plan is None:
            return False
        commits: list[step.StepCommit] = []
        for n, (message_id, kind, payload, _fut) in enumerate(batch):
            if n:
                await _yield()
            try:
                commit = self._step(plan, job, kind, payload)
            except errors.RETRYABLE:
                raise
            except errors.HotMeshError as exc:
                # tagged with the state, so the locking path need not evaluate
                # the same step on the same state a second time
                raise _StepFailed(message_id, job, exc) from exc
            if commit.dropped is not None:
                return False
            commits.append(commit)
            if n + 1 < len(batch) or self.inline_workers:
                job = advance(job, commit)  # (the next step, or _fuse, reads it)
        after: After = None
        # (no coroutine at all without inline workers: issue 21)
        if self.inline_workers and (fused := await self._fuse(plan, job, commits)):
            commits, after = fused  # an inline worker's answer: one write
        combined = combine(commits)
        ids = [item[0] for item in batch]
        self._woken(await self._write(None, combined, (ids, version)))
        if after is not None:
            await run_after(after, job.job_id)
        return True

    async def _apply_many(
        self, job_id: str, batch: list[tuple[int, str, dict[str, Any], Any]]
    ) -> None:
        commits: list[step.StepCommit] = []
        written: Written | None = None
        async with self.store.transaction() as tx:
            ids = [item[0] for item in batch]
            job, acked = await tx.ack_and_lock_many(
                self.app_id, job_id, ids, self.owner
            )
            if job is None:
                return  # claims lost, or the job is gone (the acks commit alone)
            plan = await self.plan(job.version, tx)
            for n, (message_id, kind, payload, _fut) in enumerate(batch):
                if message_id not in acked:
                    continue
                if n:
                    await _yield()
                try:
                    commit = self._step(plan, job, kind, payload)
                except errors.HotMeshError as exc:
                    log.error("job %s: %s step failed: %s", job_id, kind, exc)
                    commit = step.fail(plan, job, _error(exc, job_id), self.clock.now())
                if commit.dropped is not None:
                    continue
                commits.append(commit)
                job = advance(job, commit)
            if commits:
                written = await self._write(tx, combine(commits))
        if written is not None:
            self._woken(written)

    async def _apply_one(
        self,
        message_id: int,
        job_id: str,
        kind: str,
        payload: dict[str, Any],
        known: _StepFailed | None = None,
    ) -> None:
        written: Written | None = None
        try:
            async with self.store.transaction() as tx:
                job = await tx.ack_and_lock(self.app_id, job_id, message_id, self.owner)
                if job is None:
                    return  # lease lost, or job gone (the ack commits alone)
                if known is not None and known.job == job:
                    raise known.error  # failed on this very state already
                plan = await self.plan(job.version, tx)
                commit = self._step(plan, job, kind, payload)
                if commit.dropped is None:
                    written = await self._write(tx, commit)
        except errors.RETRYABLE:
            raise  # not the step's fault: the consumer runs it again
        except errors.HotMeshError as exc:
            # ``known.error`` raised again above: its traceback would hold this
            # frame, which holds ``known`` (a cycle; see _StepFailed.untraced).
            exc.__traceback__ = None
            log.error("job %s: %s step failed: %s", job_id, kind, exc)
            await self._fail(message_id, job_id, exc)
            return
        if written is not None:
            self._woken(written)

    async def _fail(self, message_id: int, job_id: str, exc: Exception) -> None:
        """Ack the message and close its job with error 500, in one transaction."""
        error = _error(exc, job_id)
        written: Written | None = None
        try:
            async with self.store.transaction() as tx:
                job = await tx.ack_and_lock(self.app_id, job_id, message_id, self.owner)
                if job is None:
                    return
                plan = await self.plan(job.version, tx)
                commit = step.fail(plan, job, error, self.clock.now())
                if commit.dropped is None:
                    written = await self._write(tx, commit)
        except errors.RETRYABLE:
            raise  # the consumer runs the failed step, and this, again
        except errors.HotMeshError:
            log.exception(
                "job %s: could not record its failure; message dropped", job_id
            )
            await self.store.ack(message_id, self.owner)
            return
        if written is not None:
            self._woken(written)


class _StepFailed(errors.HotMeshError):
    """A step whose evaluation failed (``error``) on state ``job``."""

    def __init__(
        self, message_id: int, job: JobRow, error: errors.HotMeshError
    ) -> None:
        super().__init__(str(error))
        self.message_id, self.job, self.error = message_id, job, error

    def untraced(self) -> _StepFailed:
        """This failure without tracebacks, to keep in a local variable.

        A traceback holds its frames (and those their callers): kept in a local
        of a frame it passes through, it makes a reference cycle, and the step's
        whole state (a 900-deep parsed value, a job's rows) waited for a full
        garbage collection, which held the event loop (issue 20 §3).
        """
        seen: set[int] = set()
        todo: list[BaseException | None] = [self]
        while todo:
            exc = todo.pop()
            if exc is None or id(exc) in seen:
                continue
            seen.add(id(exc))
            exc.__traceback__ = None
            todo += [exc.__cause__, exc.__context__]
            if isinstance(exc, _StepFailed):
                todo.append(exc.error)
        return self


def _error(exc: Exception, job_id: str) -> dict[str, Any]:
    """The job error recorded for a step that failed to evaluate."""
    return {"message": str(exc), "code": 500, "job_id": job_id}


async def _yield() -> None:
    """Let other jobs run between the steps of a batch: each step of a big job
    (a fan-out's deferred legs) costs the job's size, and a batch of them in one
    go held the event loop for tens of milliseconds (issue 20 §3)."""
    await asyncio.sleep(0)


def _settle(
    batch: list[tuple[int, str, dict[str, Any], Any]], exc: Exception | None
) -> None:
    """Resolve the waiters of a batch (with ``exc`` when it failed)."""
    for *_item, fut in batch:
        if fut is None or fut.done():  # (None: the leader's own step)
            continue
        if exc is None:
            fut.set_result(None)
        else:
            fut.set_exception(exc)
