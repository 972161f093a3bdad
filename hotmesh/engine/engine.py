"""The async engine shell: load the job, call the pure step, commit it in one transaction."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Callable
from typing import Any

from hotmesh import clock, errors
from hotmesh.compiler import Plan, plan_from_document
from hotmesh.engine import step
from hotmesh.engine.cache import StateCache
from hotmesh.engine.commit import advance, combine
from hotmesh.engine.payload import json_problem, worker_response
from hotmesh.engine.retry import RetryPolicy, message_policy, yaml_delay
from hotmesh.expr.js import UNDEFINED
from hotmesh.graph.inputs import input_problem
from hotmesh.store import PostgresStore, StepWrite, StoreTx
from hotmesh.store.records import (
    ENGINE_STREAM,
    JobRow,
    Message,
    NewMessage,
    worker_stream,
)

log = logging.getLogger("hotmesh.engine")


class Engine:
    """Runs steps for one app on one store; ``on_messages`` wakes local consumers."""

    def __init__(self, store: PostgresStore, app_id: str) -> None:
        self.store = store
        self.app_id = app_id
        self.owner = f"{app_id}:{uuid.uuid4().hex[:12]}"
        self._plans: dict[str, Plan] = {}
        self.active: str | None = None
        self.lease = 30.0
        #: what "now" is for job timestamps and schedules (a test moves its own)
        self.clock: clock.Clock = clock.SYSTEM
        #: steps waiting per job while a step of that job runs here (group commit)
        self._pending: dict[str, list[tuple[int, str, dict[str, Any], Any]]] = {}
        self._running: set[str] = set()
        #: job states this process wrote last: the next step here writes in one
        #: statement, guarded by the row version, instead of lock-read-write
        self.states = StateCache(10_000)
        #: how long a signal waits for its hook to register (spec §4.11: 600 s)
        self.signal_ttl = 600.0
        #: claims of one message after which it is treated as poison (spec §4.9)
        self.poison_threshold = 5
        #: cap on re-entries of one cycle pivot (spec §4.13)
        self.max_cycles = step.MAX_CYCLES
        #: structured retry policies per worker topic (spec §4.9 layer 2)
        self.retry_policies: dict[str, RetryPolicy] = {}
        #: streams this process consumes: their new messages are inserted reserved by us
        self.local_streams: set[str] = set()
        self.on_messages: Callable[[str, float], None] = lambda stream, delay: None
        self.on_dispatch: Callable[[str, Message], None] = lambda stream, msg: None
        self.on_emit: Callable[[str, dict[str, Any], str], None] = (
            lambda job_id, output, publishes: None
        )
        self.on_complete: Callable[[str, dict[str, Any] | None, str], None] = (
            lambda job_id, output, publishes: None
        )

    @property
    def insert_lease(self) -> float:
        """The claim on a message inserted for a local consumer.

        Short, because the consumer's heartbeat extends it as soon as the
        message is held; if the commit succeeded but its acknowledgement was
        lost (a cut connection), the message was never handed over and must
        become free quickly, not after a whole lease.
        """
        return min(self.lease, 5.0)

    # -- plans -------------------------------------------------------------
    async def plan(self, version: str, tx: StoreTx | None = None) -> Plan:
        """The plan of ``version`` (cached; plans are immutable).

        Inside a step pass ``tx``: taking a second pooled connection while
        holding one could exhaust the pool and deadlock.
        """
        plan = self._plans.get(version)
        if plan is None:
            source = tx if tx is not None else self.store
            doc = await source.get_plan(self.app_id, version)
            if doc is None:
                raise errors.UnknownAppVersionError(
                    f"app '{self.app_id}' has no deployed version '{version}'"
                )
            plan = plan_from_document(doc)
            self._plans[version] = plan
        return plan

    async def active_plan(self) -> Plan:
        """The plan of the active version."""
        if self.active is None:
            self.active = await self.store.active_version(self.app_id)
        if self.active is None:
            raise errors.UnknownAppVersionError(
                f"app '{self.app_id}' has no active version"
            )
        return await self.plan(self.active)

    # -- commit ------------------------------------------------------------
    def _publishes(self, commit: step.StepCommit) -> str:
        """The ``publishes`` topic of the job's graph ('' when none)."""
        plan = self._plans.get(commit.job.version)
        graph = plan.graph_for_topic(commit.job.topic) if plan else None
        return (graph.publishes if graph else None) or ""

    def _prepare_write(self, commit: step.StepCommit) -> StepWrite:
        """Reserve locally-consumed messages for us and build the NOTIFY payloads."""
        job = commit.job
        messages = [
            dataclasses.replace(m, reserved_by=self.owner)
            if m.delay <= 0 and m.stream in self.local_streams
            else m
            for m in commit.messages
        ]
        commit.messages = messages
        me = self.owner
        notes = sorted(
            {
                f"m|{self.app_id}|{m.stream}|{m.delay}|{me}"
                for m in messages
                if m.reserved_by is None
            }
        )
        if commit.completion is not None:
            publishes = commit.completion.publishes or ""
            # Only subscribers (a graph that publishes) or a pubsub caller in
            # another process (``ngn``) need to hear of it: each NOTIFY costs
            # every listening backend a transaction.
            waiter = job.metadata.get("ngn")
            if publishes or (waiter and waiter != me):
                notes.append(f"d|{self.app_id}|{job.job_id}|{publishes}|{me}")
        if commit.emit is not None and (publishes := self._publishes(commit)):
            notes.append(f"e|{self.app_id}|{job.job_id}|{publishes}|{me}")
        expire = commit.completion.expire if commit.completion else commit.expire
        return StepWrite(
            self.app_id,
            job,
            commit.delta,
            expire,
            commit.activities,
            messages,
            self.store.channel,
            notes,
            self.insert_lease,
        )

    async def _write(
        self,
        tx: StoreTx | None,
        commit: step.StepCommit,
        cas: tuple[list[int], str] | None = None,
    ) -> list[Message]:
        """Commit a step's writes: one statement (inside ``tx`` or autocommitted),
        plus its side effects (signals, hook registrations) in the same transaction.

        With ``cas`` (message ids, row version) the step was computed from cached
        state: the statement also acks the messages, and raises
        ``StaleStateError`` unless the job row is still at that version.
        """
        if tx is None and commit.side_effects:
            async with self.store.transaction() as own:
                return await self._write(own, commit, cas)
        w = self._prepare_write(commit)
        job = commit.job
        target = tx if tx is not None else self.store
        if commit.new_job:
            job.status = commit.delta
            pk, reserved, commit.version = await target.create_job(w)
            if pk is None:
                raise errors.DuplicateJobError(job.job_id)
            job.pk = pk
        elif cas is not None:
            ids, version = cas
            job.status, reserved, commit.version = await target.write_step_cas(
                w, ids, self.owner, version
            )
        else:
            assert tx is not None
            job.status, reserved, commit.version = await tx.write_step(w)
        if commit.side_effects:
            assert tx is not None
            await self._side_effects(tx, commit)
        return reserved

    async def _side_effects(self, tx: StoreTx, commit: step.StepCommit) -> None:
        """Hook registrations, signals and descendant interrupts of a step."""
        job = commit.job
        plan = await self.plan(job.version, tx)
        extra: list[NewMessage] = []
        if commit.facets:
            await tx.add_facets(self.app_id, job.pk, job.job_id, commit.facets)
        if commit.unregister:
            await tx.unregister_hooks(self.app_id, commit.unregister, job.pk)
        for reg in commit.register:
            target = {"jid": job.job_id, "gid": job.gid, "aid": reg.aid, "dad": reg.dad}
            for early in await tx.register_hook(self.app_id, reg.key, job.pk, target):
                extra.append(_webhook(target, early))
        for out in commit.signals:
            if out.facet is None:
                await self._signal(
                    tx, plan, out.topic, out.data, out.status, out.code, extra, out.keep
                )
                continue
            for jid in await tx.facet_jobs(self.app_id, out.facet, out.scrub):
                data = {**out.data, "id": jid}
                await self._signal(
                    tx, plan, out.topic, data, out.status, out.code, extra
                )
        for row in commit.escalations:
            await tx.open_escalation(self.app_id, job.job_id, row)
        for topic, key in commit.expired_escalations:
            await tx.close_escalation(self.app_id, topic, key, "expired")
        if commit.cancel_escalations:
            await tx.cancel_escalations(self.app_id, job.job_id)
        for target_id, options in commit.interrupts:
            other = await tx.lock_job(self.app_id, target_id)
            if other is None or other.status <= 0:
                continue  # gone or finished: nothing to interrupt
            other_plan = await self.plan(other.version, tx)
            chained = step.interrupt(other_plan, other, options, self.clock.now())
            if chained.dropped is None:
                chained_reserved = await self._write(tx, chained)
                commit.chained.append((chained, chained_reserved))
        if commit.descend is not None:
            for child in await tx.active_children(self.app_id, job.job_id):
                payload = {"metadata": {"jid": child}, "options": commit.descend}
                extra.append(
                    NewMessage(
                        ENGINE_STREAM,
                        "interrupt",
                        payload,
                        child,
                        step.PRIORITY["interrupt"],
                    )
                )
        if extra:
            await self._enqueue(tx, extra)
            commit.messages.extend(extra)  # woken locally after the commit

    async def _enqueue(self, tx: StoreTx, messages: list[NewMessage]) -> None:
        """Insert engine-stream messages in ``tx``; other processes are woken on commit
        (this one is woken by the caller, after the commit)."""
        if messages:
            await tx.insert_messages(self.app_id, messages, self.insert_lease)
            await tx.notify(
                self.store.channel, [f"m|{self.app_id}|{ENGINE_STREAM}|0|{self.owner}"]
            )

    async def _signal(
        self,
        tx: StoreTx,
        plan: Plan,
        topic: str,
        data: dict[str, Any],
        status: str,
        code: int,
        out: list[NewMessage],
        keep: float | None = None,
    ) -> str | None:
        """Route a signal to the hook waiting on its key, or keep it until one does
        (``keep`` seconds; ``None``: ``signal_ttl``)."""
        rule = plan.hook_rule(topic)
        if rule is None:
            raise errors.UnknownTopicError(
                f"app '{self.app_id}' version '{plan.version}' has no hook listening on "
                f"'{topic}'"
            )
        value = rule.actual.evaluate(
            {"$self": {"hook": {"data": data}}, "$hook": {"data": data}}
        )
        key = f"{topic}:{'' if value is UNDEFINED else value}"
        ttl = self.signal_ttl if keep is None else keep
        return await self._deliver(tx, key, data, status, code, out, ttl)

    async def _deliver(
        self,
        tx: StoreTx,
        key: str,
        data: dict[str, Any],
        status: str,
        code: int,
        out: list[NewMessage],
        ttl: float | None,
    ) -> str | None:
        signal = {"data": data, "status": status, "code": code}
        target = await tx.take_signal(self.app_id, key, signal, ttl)
        if target is None:
            return None
        out.append(_webhook(target, signal))
        return str(target.get("jid"))

    async def resolve_escalation(
        self, escalation_id: str, data: dict[str, Any]
    ) -> str | None:
        """Resolve a pending escalation and resume its hook with ``data``, atomically.

        Returns the resumed job id; ``None`` if the row is not pending (or its
        hook no longer waits).
        """
        extra: list[NewMessage] = []
        async with self.store.transaction() as tx:
            found = await tx.resolve_escalation(self.app_id, escalation_id, data)
            if found is None:
                return None
            topic, key = found
            job_id = await self._deliver(
                tx, f"{topic}:{key}", data, "success", 200, extra, None
            )
            await self._enqueue(tx, extra)
        for msg in extra:
            self.on_messages(msg.stream, 0.0)
        return job_id

    def _remember(self, commit: step.StepCommit) -> None:
        """After commit: cache the states written. A job written twice in one
        transaction has one row version for both writes: forget it instead."""
        written: list[step.StepCommit] = []
        todo = [commit]
        while todo:
            c = todo.pop()
            written.append(c)
            todo.extend(chained for chained, _ in c.chained)
        ids = [c.job.job_id for c in written]
        for c in written:
            if ids.count(c.job.job_id) > 1:
                self.states.drop(c.job.job_id)
            else:
                self.states.remember(c, c.version)

    def _woken(
        self, commit: step.StepCommit, reserved: list[Message], top: bool = True
    ) -> None:
        """After commit: hand reserved messages to local consumers, wake the others."""
        if top:
            self._remember(commit)
        for chained, chained_reserved in commit.chained:
            self._woken(chained, chained_reserved, top=False)
        for msg in reserved:
            self.on_dispatch(msg.stream, msg)
        for new in commit.messages:
            if new.reserved_by is None:
                self.on_messages(new.stream, new.delay)
        if commit.emit is not None:
            self.on_emit(commit.job.job_id, commit.emit, self._publishes(commit))
        if commit.completion is not None:
            self.on_complete(
                commit.job.job_id,
                commit.completion.output,
                commit.completion.publishes or "",
            )

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
    ) -> step.StepCommit:
        """The trigger step of a new job, not yet committed."""
        plan = await self.active_plan()
        graph = plan.graph_for_topic(topic)
        if graph is None:
            raise errors.UnknownTopicError(
                f"app '{self.app_id}' version '{plan.version}' has no graph subscribed to "
                f"'{topic}'"
            )
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
        )

    async def start(self, commit: step.StepCommit) -> None:
        """Commit a prepared trigger step (``DuplicateJobError`` for a live duplicate)."""
        reserved = await self._write(None, commit)  # one autocommitted statement
        self._woken(commit, reserved)

    async def signal(
        self, topic: str, data: dict[str, Any], status: str = "success", code: int = 200
    ) -> str | None:
        """Resume the job whose hook waits on this signal; ``None`` if none waits yet
        (the signal is then kept and delivered when the hook registers)."""
        problem = json_problem(data)
        if problem is not None:
            raise errors.InputValidationError(topic, *problem)
        plan = await self.active_plan()
        extra: list[NewMessage] = []
        async with self.store.transaction() as tx:
            job_id = await self._signal(tx, plan, topic, data, status, code, extra)
            await self._enqueue(tx, extra)
        for msg in extra:
            self.on_messages(msg.stream, 0.0)
        return job_id

    async def interrupt(
        self, job_id: str, options: dict[str, Any], suppress: bool = False
    ) -> bool:
        """Interrupt a running job now; ``False`` (with ``suppress``) if it is not running."""
        commit: step.StepCommit | None = None
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
            reserved = await self._write(tx, commit)
        self._woken(commit, reserved)
        return True

    async def add(self, response: dict[str, Any]) -> None:
        """Publish an extra worker response for an open activity (after a 202)."""
        md = dict(response.get("metadata") or {})
        for field in ("data", "status", "code"):
            problem = json_problem(response.get(field))
            if problem is not None:  # refused here, not by the database later
                raise errors.InputValidationError(
                    str(md.get("topic") or "add"), f"/{field}{problem[0]}", problem[1]
                )
        payload = {
            "metadata": {k: md.get(k) for k in ("jid", "gid", "dad", "aid")},
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
        self.on_messages(ENGINE_STREAM, 0.0)

    async def handle(self, msg: Message) -> None:
        """Process one engine-stream message."""
        if msg.attempts > self.poison_threshold:
            # Claimed again and again without finishing (say, it crashes its
            # process): give up on it and close its job with the error.
            md = msg.payload.get("metadata", {})
            log.error("message %s claimed %d times: poison", msg.id, msg.attempts)
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

    async def run_step(
        self, message_id: int, job_id: str, kind: str, payload: dict[str, Any]
    ) -> None:
        """Ack ``message_id`` and apply its step to the job, in one transaction.

        Steps for a job that is already being stepped in this process wait and
        then run together, in one transaction (group commit): a fan-in of N
        branches takes a few transactions instead of N lock waits.
        """
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(job_id, []).append((message_id, kind, payload, fut))
        if job_id in self._running:
            await fut  # the running batch of this job picks it up
            return
        self._running.add(job_id)
        try:
            while batch := self._pending.pop(job_id, None):
                try:
                    await self._run_batch(job_id, batch)
                except Exception as exc:  # rolled back: each caller retries its own
                    _settle(batch, exc)
                else:
                    _settle(batch, None)
        finally:
            self._running.discard(job_id)
            # Cancelled while others waited: they must not wait for ever.
            _settle(self._pending.pop(job_id, []), RuntimeError("step runner stopped"))
        await fut

    async def _run_batch(
        self, job_id: str, batch: list[tuple[int, str, dict[str, Any], Any]]
    ) -> None:
        cached = self.states.get(job_id)
        if cached is not None:
            try:
                if await self._apply_cached(batch, *cached):
                    return
            except errors.HotMeshError:
                pass  # stale, or a failing step: the locking path handles it
            except BaseException:
                self.states.drop(job_id)
                raise
            self.states.drop(job_id)
        if len(batch) > 1:
            try:
                await self._apply_many(job_id, batch)
                return
            except errors.HotMeshError as exc:
                # Rolled back: apply them one by one so only the bad one fails.
                log.warning(
                    "job %s: batch of %d rolled back (%s)", job_id, len(batch), exc
                )
        for message_id, kind, payload, _fut in batch:
            await self._apply_one(message_id, job_id, kind, payload)

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
        for _message_id, kind, payload, _fut in batch:
            commit = step.apply(
                plan, job, kind, payload, self.clock.now(), self.max_cycles
            )
            if commit.dropped is not None:
                return False
            commits.append(commit)
            job = advance(job, commit)
        combined = combine(commits)
        ids = [item[0] for item in batch]
        reserved = await self._write(None, combined, (ids, version))
        self._woken(combined, reserved)
        return True

    async def _apply_many(
        self, job_id: str, batch: list[tuple[int, str, dict[str, Any], Any]]
    ) -> None:
        commits: list[step.StepCommit] = []
        reserved: list[Message] = []
        combined: step.StepCommit | None = None
        async with self.store.transaction() as tx:
            ids = [item[0] for item in batch]
            job, acked = await tx.ack_and_lock_many(
                self.app_id, job_id, ids, self.owner
            )
            if job is None:
                return  # claims lost, or the job is gone (the acks commit alone)
            plan = await self.plan(job.version, tx)
            for message_id, kind, payload, _fut in batch:
                if message_id not in acked:
                    continue
                try:
                    commit = step.apply(
                        plan, job, kind, payload, self.clock.now(), self.max_cycles
                    )
                except errors.HotMeshError as exc:
                    log.error("job %s: %s step failed: %s", job_id, kind, exc)
                    error = {"message": str(exc), "code": 500, "job_id": job_id}
                    commit = step.fail(plan, job, error, self.clock.now())
                if commit.dropped is not None:
                    continue
                commits.append(commit)
                job = advance(job, commit)
            if commits:
                combined = combine(commits)
                reserved = await self._write(tx, combined)
        if combined is not None:
            self._woken(combined, reserved)

    async def _apply_one(
        self, message_id: int, job_id: str, kind: str, payload: dict[str, Any]
    ) -> None:
        commit: step.StepCommit | None = None
        reserved: list[Message] = []
        try:
            async with self.store.transaction() as tx:
                job = await tx.ack_and_lock(self.app_id, job_id, message_id, self.owner)
                if job is None:
                    return  # lease lost, or job gone (the ack commits alone)
                plan = await self.plan(job.version, tx)
                commit = step.apply(
                    plan, job, kind, payload, self.clock.now(), self.max_cycles
                )
                if commit.dropped is None:
                    reserved = await self._write(tx, commit)
        except errors.HotMeshError as exc:
            log.error("job %s: %s step failed: %s", job_id, kind, exc)
            await self._fail(message_id, job_id, exc)
            return
        if commit is not None and commit.dropped is None:
            self._woken(commit, reserved)

    async def _fail(self, message_id: int, job_id: str, exc: Exception) -> None:
        """Ack the message and close its job with error 500, in one transaction."""
        error = {"message": str(exc), "code": 500, "job_id": job_id}
        commit: step.StepCommit | None = None
        reserved: list[Message] = []
        try:
            async with self.store.transaction() as tx:
                job = await tx.ack_and_lock(self.app_id, job_id, message_id, self.owner)
                if job is None:
                    return
                plan = await self.plan(job.version, tx)
                commit = step.fail(plan, job, error, self.clock.now())
                if commit.dropped is None:
                    reserved = await self._write(tx, commit)
        except errors.HotMeshError:
            log.exception(
                "job %s: could not record its failure; message dropped", job_id
            )
            await self.store.ack(message_id, self.owner)
            return
        if commit is not None and commit.dropped is None:
            self._woken(commit, reserved)

    async def _start_child(self, msg: Message) -> None:
        """Run an ``await`` activity's child trigger; a child that cannot start
        answers its parent with an error instead of leaving it waiting."""
        payload = msg.payload
        parent = dict(payload.get("parent") or {})
        commit: step.StepCommit | None = None
        async with self.store.transaction() as tx:
            if not await tx.ack(msg.id, self.owner):
                return
            plan = await self.plan(str(payload.get("vrs")), tx)
            topic = str(payload.get("topic"))
            graph = plan.graph_for_topic(topic)
            data = payload.get("data") or {}
            failure: tuple[int, str] | None = None
            if graph is None:
                failure = (404, f"no graph subscribed to '{topic}'")
            elif graph.input_schema and (
                problem := input_problem(graph.input_schema, data)
            ):
                failure = (422, str(errors.InputValidationError(topic, *problem)))
            else:
                try:
                    commit = step.trigger(
                        plan,
                        graph,
                        data,
                        self.clock.now(),
                        parent=parent,
                        max_cycles=self.max_cycles,
                    )
                except errors.HotMeshError as exc:
                    failure = (500, f"child '{topic}' could not start: {exc}")
            if failure is not None or commit is None:
                code, message = failure or (500, "child could not start")
                await self._answer_parent(tx, parent, code, message)
            else:
                try:
                    async with tx.savepoint():
                        reserved = await self._write(tx, commit)
                except errors.DuplicateJobError:
                    return  # replayed await: the child already exists
        if commit is None or failure is not None:
            self.on_messages(
                ENGINE_STREAM, 0.0
            )  # after the commit: the answer is visible
            return
        self._woken(commit, reserved)

    async def _answer_parent(
        self, tx: StoreTx, parent: dict[str, Any], code: int, message: str
    ) -> None:
        """An error result for the parent's await activity (the child never started)."""
        md = {
            "jid": parent.get("pj"),
            "gid": parent.get("pg"),
            "dad": parent.get("pd"),
            "aid": parent.get("pa"),
        }
        error = {"message": message, "code": code}
        result = NewMessage(
            ENGINE_STREAM,
            "result",
            {"metadata": md, "status": "error", "code": code, "data": error},
            str(parent.get("pj")),
            step.PRIORITY["result"],
        )
        await self._enqueue(tx, [result])
        log.error("job %s: %s", parent.get("pj"), message)

    async def worker_done(self, msg: Message, response: Any) -> None:
        """Ack a worker message and apply the activity's Leg 2 in the same transaction."""
        response = worker_response(response)  # a wrong shape becomes an error 500
        md = dict(msg.payload.get("metadata", {}))
        if response is None:
            await self.store.ack(msg.id, self.owner)
            return
        status = response.get("status") or "success"
        code = response.get("code")
        if status == "error" and await self._retry(msg, md, code):
            return
        metadata = {**md, **(response.get("metadata") or {})}
        metadata.update({k: md[k] for k in ("jid", "gid", "dad", "aid") if k in md})
        payload = {
            "metadata": metadata,
            "status": status,
            "code": code,
            "data": response.get("data"),
        }
        await self.run_step(msg.id, str(md.get("jid")), "response", payload)

    async def _retry(self, msg: Message, md: dict[str, Any], code: Any) -> bool:
        """Republish a failed work message after its back-off (spec §4.9).

        A structured policy (the worker's, or one carried by the message) wins
        over the activity's YAML ``retry`` map.
        """
        topic = str(md.get("topic"))
        tries = int(md.get("try") or 0)
        policy = self.retry_policies.get(topic) or message_policy(
            msg.payload.get("data")
        )
        if policy is not None:
            delay = policy.delay(tries + 1)
        else:
            plan = await self.plan(str(md.get("vrs")))
            act = plan.activities.get(str(md.get("aid")))
            delay = yaml_delay(act.retry.get(str(code)) if act else None, tries)
        if delay is None:
            return False
        again = NewMessage(
            worker_stream(topic),
            "worker",
            {**msg.payload, "metadata": {**md, "try": tries + 1}},
            str(md.get("jid")),
            step.PRIORITY["worker"],
            delay,
        )
        async with self.store.transaction() as tx:
            if not await tx.ack(msg.id, self.owner):
                return True
            await tx.insert_messages(self.app_id, [again])
            await tx.notify(
                self.store.channel,
                [f"m|{self.app_id}|{again.stream}|{again.delay}|{self.owner}"],
            )
        self.on_messages(again.stream, again.delay)
        return True

    async def read(
        self, job_id: str, include_expired: bool = False, with_activities: bool = False
    ) -> JobRow | None:
        """The job row."""
        return await self.store.read_job(
            self.app_id, job_id, with_activities, include_expired
        )


def _settle(
    batch: list[tuple[int, str, dict[str, Any], Any]], exc: Exception | None
) -> None:
    """Resolve the waiters of a batch (with ``exc`` when it failed)."""
    for *_item, fut in batch:
        if fut.done():
            continue
        if exc is None:
            fut.set_result(None)
        else:
            fut.set_exception(exc)


def _webhook(target: dict[str, Any], signal: dict[str, Any]) -> NewMessage:
    """The message that applies a signal as the waiting hook's Leg 2."""
    md = {k: target.get(k) for k in ("jid", "gid", "aid", "dad")}
    payload = {
        "metadata": md,
        "data": signal.get("data"),
        "status": signal.get("status") or "success",
        "code": signal.get("code") or 200,
    }
    return NewMessage(
        ENGINE_STREAM, "webhook", payload, str(md["jid"]), step.PRIORITY["webhook"]
    )


def finished(job: JobRow) -> bool:
    """A job is finished when its semaphore is at (or below) zero."""
    return job.status <= 0


__all__ = ["ENGINE_STREAM", "Engine", "finished"]
