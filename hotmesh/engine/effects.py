"""A step's writes: the commit statement, and its side effects in the same transaction.

Side effects are hook registrations, signals (routed to the hook waiting on
their key, or kept until one registers), escalations, interrupts of other jobs
and of descendants.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from hotmesh import errors, telemetry
from hotmesh.compiler import Plan
from hotmesh.engine import notes, step
from hotmesh.engine.base import EngineBase
from hotmesh.engine.commit import Written
from hotmesh.engine.ports import Transaction
from hotmesh.engine.routing import signal_key, webhook
from hotmesh.store import StepWrite
from hotmesh.store.records import ENGINE_STREAM, NewMessage, reserve
from hotmesh.store.signals import KeepRules, Taken
from hotmesh.telemetry import logs

log = logs.get("hotmesh.engine")
#: a hook rule matching on this reference keys its signals by the job id
JOB_ID_REF = "{$job.metadata.jid}"


@dataclass(frozen=True, slots=True)
class KeepRequest:
    """What an API caller of ``signal`` asked: keep the signal even when no
    running job is known to want it (``keep``), the job it is for, and a
    tighter bound on the key's kept signals than ``signal_max_pending``."""

    keep: bool = False
    job_id: str | None = None
    max_pending: int | None = None


class SideEffects(EngineBase):
    """Commits a step's writes and its side effects."""

    def _prepare_write(self, commit: step.StepCommit) -> StepWrite:
        """The statement's input: the step's messages, those for a local
        consumer asking to be inserted reserved for us, and the NOTIFYs."""
        job = commit.job
        # A deferred leg ("transition") is left to the claim, which takes
        # messages by priority: a fan-out's rest or a cycle's next lap waits
        # behind other jobs' work instead of flooding this process.
        now = time.monotonic()
        messages = [
            reserve(m, self.owner)
            if m.delay <= 0
            and m.stream in self.local_streams
            and self.limited_streams.get(m.stream, 0.0) <= now
            and m.type != "transition"
            else m
            for m in commit.messages
        ]
        me = self.owner
        wire = sorted(
            {
                notes.encode(notes.Messages(self.app_id, m.stream, m.delay, me))
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
                done = notes.Done(self.app_id, job.job_id, publishes, me)
                wire.append(notes.encode(done))
        if commit.emit is not None and (publishes := self._publishes(commit)):
            emitted = notes.Emitted(self.app_id, job.job_id, publishes, me)
            wire.append(notes.encode(emitted))
        expire = commit.completion.expire if commit.completion else commit.expire
        return StepWrite(
            self.app_id,
            job,
            commit.delta,
            expire,
            commit.activities,
            messages,
            self.store.channel,
            wire,
            self.insert_lease,
        )

    async def commit_in(self, tx: Transaction, commit: step.StepCommit) -> Written:
        """Write a prepared step inside a caller's transaction (a schedule
        starting its tick's job); call ``after_commit`` once it commits."""
        return await self._write(tx, commit)

    async def enqueue(self, tx: Transaction, messages: list[NewMessage]) -> None:
        """Insert engine-stream messages in a caller's transaction (woken on commit)."""
        await self._enqueue(tx, messages)

    def after_commit(self, written: Written) -> None:
        """Wake local consumers and waiters for a step committed by ``commit_in``."""
        self._woken(written)

    async def _write(
        self,
        tx: Transaction | None,
        commit: step.StepCommit,
        cas: tuple[list[int], str] | None = None,
    ) -> Written:
        """Commit a step's writes: one statement (inside ``tx`` or autocommitted),
        plus its side effects (signals, hook registrations) in the same transaction;
        returns what the write learnt.

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
        pk = job.pk
        if commit.new_job:
            created = await target.create_job(w)
            if created.pk is None:
                raise errors.DuplicateJobError(job.job_id)
            pk, status = created.pk, commit.delta
            reserved, version = created.reserved, created.version
        else:
            if cas is not None:
                ids, cached = cas
                wrote = await target.write_step_cas(w, ids, self.owner, cached)
            else:
                assert tx is not None
                wrote = await tx.write_step(w)
            status, reserved, version = wrote
        messages = list(w.messages)
        chained: tuple[Written, ...] = ()
        if commit.side_effects:
            assert tx is not None
            extra, chained = await self._side_effects(tx, commit, pk)
            messages.extend(extra)  # woken locally after the commit
        return Written(commit, status, version, pk, reserved, messages, chained)

    async def _side_effects(
        self, tx: Transaction, commit: step.StepCommit, pk: int
    ) -> tuple[list[NewMessage], tuple[Written, ...]]:
        """Hook registrations, signals and descendant interrupts of a step (the
        job's row key is ``pk``); returns the messages they inserted and the
        steps of other jobs they wrote."""
        job = commit.job
        plan = await self.plan(job.version, tx)
        extra: list[NewMessage] = []
        chained: list[Written] = []
        if commit.facets:
            await tx.add_facets(self.app_id, pk, job.job_id, commit.facets)
        if commit.unregister:
            await tx.unregister_hooks(self.app_id, commit.unregister, pk)
        for reg in commit.register:
            target = {"jid": job.job_id, "gid": job.gid, "aid": reg.aid, "dad": reg.dad}
            for early in await tx.register_hook(self.app_id, reg.key, pk, target):
                extra.append(webhook(target, early))
                telemetry.meters.add(
                    "hotmesh.signals.delivered",
                    {
                        "hotmesh.app": self.app_id,
                        "hotmesh.topic": reg.key.split(":")[0],
                    },
                )
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
            stepped = step.interrupt(other_plan, other, options, self.clock.now())
            if stepped.dropped is None:
                chained.append(await self._write(tx, stepped))
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
        return extra, tuple(chained)

    async def _enqueue(self, tx: Transaction, messages: list[NewMessage]) -> None:
        """Insert engine-stream messages in ``tx``; other processes are woken on commit
        (this one is woken by the caller, after the commit)."""
        if messages:
            await tx.insert_messages(self.app_id, messages, self.insert_lease)
            note = notes.Messages(self.app_id, ENGINE_STREAM, 0, self.owner)
            await tx.notify(self.store.channel, [notes.encode(note)])

    async def _signal(
        self,
        tx: Transaction,
        plan: Plan,
        topic: str,
        data: dict[str, Any],
        status: str,
        code: int,
        out: list[NewMessage],
        keep: float | None = None,
        request: KeepRequest | None = None,
    ) -> str | None:
        """Route a signal to the hook waiting on its key, or keep it until one does
        (``keep`` seconds; ``None``: ``signal_ttl``).

        ``request`` is an API caller's (raising when the signal is neither
        delivered nor kept); without it the signal comes from a step, is kept
        as the step asked, and is dropped with a log line when its key's job
        has finished.
        """
        rule = plan.hook_rule(topic)
        if rule is None:
            raise errors.UnknownTopicError(
                f"app '{self.app_id}' version '{plan.version}' has no hook listening on "
                f"'{topic}'"
            )
        key, value = signal_key(rule, data)
        ttl = self.signal_ttl if keep is None else keep
        explicit = request is None or request.keep
        # The job the signal is for: named by the caller, or the key's value
        # when the hook matches on the job id (the usual ``{$job.metadata.jid}``).
        hint = request.job_id if request is not None else None
        if hint is None and rule.expected.source == JOB_ID_REF:
            hint = str(value)
        job_pk: int | None = None
        hint_done = False
        if hint is not None and request is not None:
            found = await tx.signals.job(self.app_id, hint)
            if found is not None:
                job_pk, hint_done = (None, True) if found[1] else (found[0], False)
            explicit = explicit and not hint_done
        rules = KeepRules(
            ttl,
            job_pk,
            explicit,
            request is None and keep is not None,  # a child's outcome: never lost
            (request.max_pending if request else None) or self.signal_max_pending,
            self.signal_max_bytes,
        )
        signal = {"data": data, "status": status, "code": code}
        if (link := telemetry.sender()) is not None:
            signal["lnk"] = link  # the hook's span links to the sender's
        taken = await tx.take_signal(self.app_id, key, signal, rules)
        if taken.outcome in ("resumed", "kept"):
            early = taken.outcome == "kept"
            name = "hotmesh.signals.early" if early else "hotmesh.signals.delivered"
            telemetry.meters.add(
                name, {"hotmesh.app": self.app_id, "hotmesh.topic": topic}
            )
        if taken.outcome == "resumed":
            if taken.target is None:
                return None
            out.append(webhook(taken.target, signal))
            return str(taken.target.get("jid"))
        if taken.outcome == "kept":
            return None
        if taken.outcome == "unknown" and hint_done:
            taken = Taken("inactive", owner=hint)
        problem = _not_kept(key, taken, rules)
        if request is None:
            log.info("signal on %s dropped: %s", topic, problem)
            return None
        raise problem

    async def _deliver(
        self,
        tx: Transaction,
        key: str,
        data: dict[str, Any],
        status: str,
        code: int,
        out: list[NewMessage],
        ttl: float | None,
    ) -> str | None:
        """Resume the hook waiting on ``key`` (an escalation's); never keeps the signal."""
        signal = {"data": data, "status": status, "code": code}
        if (link := telemetry.sender()) is not None:
            signal["lnk"] = link
        rules = KeepRules(self.signal_ttl if ttl is None else ttl)
        taken = await tx.take_signal(self.app_id, key, signal, rules)
        if taken.outcome != "resumed" or taken.target is None:
            return None
        out.append(webhook(taken.target, signal))
        return str(taken.target.get("jid"))

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
            self.events.wake(msg.stream, 0.0)
        return job_id


def _not_kept(key: str, taken: Taken, rules: KeepRules) -> errors.StoreError:
    """The error telling a sender that nothing waits for its signal, and why."""
    if taken.outcome == "inactive":
        return errors.JobInactiveError(
            str(taken.owner),
            f"nothing waits on signal key '{key}' any more; the signal was not kept",
        )
    if taken.outcome == "full":
        return errors.SignalNotKeptError(
            key,
            f"signal key '{key}' already keeps {taken.kept} early signals "
            f"({taken.kept_bytes} bytes) and no hook waits on it; the bound is "
            f"{rules.max_count} signals and {rules.max_bytes} bytes a key "
            "(engine options signal_max_pending, signal_max_bytes)",
        )
    return errors.SignalNotKeptError(
        key,
        f"no hook waits on signal key '{key}' and no running job is known to wait "
        "for it; the signal was not kept (signal(..., keep=True) keeps it for a job "
        "that has not started yet; job_id= names the job it is for)",
    )
