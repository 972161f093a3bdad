"""One step over a copied job snapshot: activity legs, transitions, completion (no I/O).

Leg 1 of every activity a step reaches is applied in the same step ("run
ahead"), so a chain of passthroughs, dispatches and sleeps commits in one
transaction. Leg 2 arrives later as an engine message (``response``, ...).

Dimensions: an execution at ``,0,0`` spawns its children at
``,0,0,0``. An activity entered again (a 202 pending answered by a second
response, a multi-signal hook, a cycle re-entering its pivot) runs its n-th
entry with its own last index replaced by ``n``, so downstream state of each
entry is kept apart. The entry count lives in the activity's first row, in
``output.metadata.l2``.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from hotmesh import errors
from hotmesh.compiler.plan import ActivityPlan, Plan
from hotmesh.engine import context as cx
from hotmesh.engine import dimensions, explain, guards, outcomes, spans
from hotmesh.engine.commit import (
    DEFAULT_EXPIRE,
    INTERRUPTED,
    MAX_CYCLES,
    PRIORITY,
    Completion,
    HookRegistration,
    StepCommit,
    StepDraft,
    err_string,
    escalation_row,
    job_output,
    job_with,
    read_err,
)
from hotmesh.engine.dimensions import dad_of, dims, entries, reentry_dad, with_entries
from hotmesh.engine.limits import NO_KEYS, TopicKeys, worker_fields
from hotmesh.engine.metadata import ParentRef
from hotmesh.expr.js import UNDEFINED, is_number, truthy
from hotmesh.store.records import (
    ENGINE_STREAM,
    ActivityRow,
    JobRow,
    NewMessage,
    worker_stream,
)


class Run:
    """Mutable state of one step over a copied job snapshot."""

    topic_keys: TopicKeys = NO_KEYS  # API-set key expressions by stream (step's)

    def __init__(
        self,
        plan: Plan,
        job: JobRow,
        now: datetime,
        new: bool,
        max_cycles: int = MAX_CYCLES,
        max_steps: int = guards.MAX_STEPS,
    ) -> None:
        self.plan = plan
        self.job = job
        self.now = now
        self.stamp = cx.stamp(now)
        self.max_cycles = max_cycles
        self.max_steps = max_steps
        #: legs (at most guards.FANOUT_BATCH) and cycle laps run inline in this step
        self.legs = self.laps = 0
        self.rows = {(r.activity_id, r.dimension): r for r in job.activities}
        self.draft = StepDraft(job=job, new_job=new)
        #: the job's error, a dict while the step runs (``job.err`` is its
        #: stored text, written back when the step returns)
        self.error = read_err(job.err)
        self._read_error = self.error
        self.queue: deque[tuple[str, str]] = deque()
        #: set by an activity whose ``emit`` resolved true during this step
        self.emitted = False
        #: the job closes in this step whatever its semaphore (interrupt, threshold)
        self.closing = False
        #: the activity whose Leg 1 runs now (names it when an expression fails)
        self.at: str | None = None
        #: the job carries a trace: its activity spans get telemetry and events
        self.traced = spans.traced(job.metadata)

    # -- helpers ---------------------------------------------------------
    def status(self) -> int:
        """The semaphore as it stands in this step."""
        return self.job.status + self.draft.delta

    def ctx(
        self, aid: str | None, dad: str, self_node: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        job, rows = self.job, self.rows.values()
        return cx.build(
            job.metadata, job.data, rows, aid, dad, self_node, self.status()
        )

    def put(self, row: ActivityRow) -> None:
        key = (row.activity_id, row.dimension)
        self.rows[key] = row
        self.draft.activities = [
            r for r in self.draft.activities if (r.activity_id, r.dimension) != key
        ]
        self.draft.activities.append(row)

    def send(
        self,
        stream: str,
        kind: str,
        payload: dict[str, Any],
        delay: float = 0.0,
        job_id: str | None = None,
    ) -> None:
        self.draft.messages.append(
            NewMessage(
                stream=stream,
                type=kind,
                payload=payload,
                job_id=job_id or self.job.job_id,
                priority=PRIORITY.get(kind, 0),
                delay=delay,
            )
        )

    def meta(self, act: ActivityPlan, dad: str) -> dict[str, Any]:
        return {
            "aid": act.id,
            "atp": act.type,
            "dad": dad,
            "ac": self.stamp,
            "au": self.stamp,
        }

    def address(self, act: ActivityPlan, dad: str) -> dict[str, Any]:
        return {"jid": self.job.job_id, "gid": self.job.gid, "dad": dad, "aid": act.id}

    def value(self, act: ActivityPlan, name: str, ctx: dict[str, Any]) -> Any:
        rule = act.field_rule(name)
        return rule.evaluate(ctx) if rule is not None else UNDEFINED

    def apply_job_maps(self, act: ActivityPlan, ctx: dict[str, Any]) -> None:
        if act.job_maps is not None:
            # Job data is already plain (stored JSON, or written here): only the
            # patch can hold UNDEFINED, so only the patch is walked.
            patch = cx.plain(act.job_maps.evaluate(ctx))
            self.job.data = cx.write_job_data(self.job.data, patch)

    def event(self, act: ActivityPlan, dad: str, name: str, **attrs: Any) -> None:
        """A span event for this activity, now (traced jobs only)."""
        if self.traced:
            spans.event(self.draft, act.id, dad, name, self.now, attrs)

    def open_row(
        self, act: ActivityPlan, dad: str, data: Any = None, **meta: Any
    ) -> None:
        """Leg 1 done, waiting for Leg 2 (``l2`` counts Leg 2 entries)."""
        md = {**self.meta(act, dad), "l2": 0, **meta}
        self.put(ActivityRow(act.id, dad, act.type, 1, False, data, {"metadata": md}))

    def transitions(
        self, act: ActivityPlan, dad: str, code: int, ctx: dict[str, Any], pending: bool
    ) -> int:
        children, why = explain.take(act.transitions, code, ctx)
        row = self.rows.get((act.id, dad))
        if row is not None and why is not None:
            row.why = why  # written with the row (already put by this leg)
        for child in children:
            self.queue.append((child, dad + ",0"))
        self.draft.delta += len(children) if pending else len(children) - 1
        return len(children)

    # -- Leg 1 -----------------------------------------------------------
    def leg1(self, aid: str, dad: str) -> None:
        act = self.plan.activity(aid)
        if (aid, dad) in self.rows:
            # Entered already in this dimension (a replayed transition):
            # dropped, giving back the obligation counted for it.
            self.draft.delta -= 1
            return
        if self.closing:
            self.draft.delta -= 1
            return
        ctx = self.ctx(aid, dad, {})
        threshold = self.value(act, "statusThreshold", ctx)
        if is_number(threshold) and not self.status() > threshold:
            # Dynamic activation control: the job is closed here
            # instead of running this activity.
            self.draft.delta -= 1
            self.close()
            return
        handler = getattr(self, f"leg1_{act.type}", None)
        if handler is None:
            raise errors.HotMeshError(
                f"activity '{aid}' has type '{act.type}', which cannot be a child"
            )
        handler(act, dad, ctx)

    def leg1_worker(self, act: ActivityPlan, dad: str, ctx: dict[str, Any]) -> None:
        data = cx.plain(act.input_maps.evaluate(ctx)) if act.input_maps else {}
        topic = act.topic.evaluate(ctx) if act.topic is not None else None
        if not isinstance(topic, str) or not topic:
            raise errors.HotMeshError(
                f"activity '{act.id}': worker topic resolved to {topic!r}"
            )
        self.open_row(act, dad, data)
        md = {
            **self.address(act, dad),
            "topic": topic,
            "vrs": self.job.version,
            "try": 0,
            **cx.trace_ids(self.job.metadata),  # the job's trace, to the worker
        }
        priority, ckey, rkey = worker_fields(
            act, ctx, self.job.metadata, self.topic_keys.get(worker_stream(topic))
        )
        self.draft.messages.append(
            NewMessage(
                worker_stream(topic),
                "worker",
                {"metadata": md, "data": data},
                self.job.job_id,
                priority,
                ckey=ckey,
                rkey=rkey,
            )
        )

    def leg1_await(self, act: ActivityPlan, dad: str, ctx: dict[str, Any]) -> None:
        data = cx.plain(act.input_maps.evaluate(ctx)) if act.input_maps else {}
        topic = act.topic.evaluate(ctx) if act.topic is not None else None
        severed = outcomes.falsy_flag(self.value(act, "await", ctx))
        self.open_row(act, dad, data)
        jid, gid = self.job.job_id, self.job.gid
        ref = ParentRef(jid, gid, dad, act.id, severed)
        join_topic = self.value(act, "join.topic", ctx)
        join_id = self.value(act, "join.id", ctx)
        if severed and join_topic and isinstance(join_id, str) and join_id:
            # A detached child signals this key when it ends (however it ends),
            # so the parent can wait for it later on an ordinary hook.
            ref = ParentRef(jid, gid, dad, act.id, severed, str(join_topic), join_id)
        parent = ref.to_metadata()
        parent.update(cx.trace_ids(self.job.metadata))  # the child joins our trace
        self.send(
            ENGINE_STREAM,
            "await",
            {"topic": topic, "data": data, "parent": parent, "vrs": self.job.version},
        )

    def leg1_hook(self, act: ActivityPlan, dad: str, ctx: dict[str, Any]) -> None:
        delay = guards.sleep_seconds(act.id, self.value(act, "sleep", ctx))
        timed = delay is not None
        rule = self.plan.hook_rule(act.hook_topic) if act.hook_topic else None
        if rule is None and not timed:
            # Passthrough (or a cycle pivot's first entry, counted as entry 1).
            self.finish(act, dad, 200, {}, "success", ActivityRow(act.id, dad, "hook"))
            if act.cycle_pivot:
                self.put(with_entries(self.rows[(act.id, dad)], 1))
            return
        extra: dict[str, Any] = {}
        if rule is not None:
            value = rule.expected.evaluate(ctx)
            key = f"{rule.topic}:{'' if value is UNDEFINED else value}"
            extra["sk"] = key
            self.draft.register.append(HookRegistration(key, act.id, dad))
            if act.escalation is not None:
                self.escalate(act, rule.topic, key[len(rule.topic) + 1 :], ctx)
            # Upstream runs a webhook's maps in Leg 1 too (no hook data yet).
            self.apply_job_maps(act, self.ctx(act.id, dad, {}))
        self.open_row(act, dad, None, **extra)
        if timed:
            md = self.address(act, dad)
            due = self.now.timestamp() + (delay or 0.0)  # timer lateness, measured
            self.send(
                ENGINE_STREAM,
                "timehook",
                {"metadata": md, "due": due},
                delay=delay or 0.0,
            )

    def escalate(
        self, act: ActivityPlan, topic: str, key: str, ctx: dict[str, Any]
    ) -> None:
        """Open a human-in-the-loop row for this waiting hook."""
        assert act.escalation is not None
        row = escalation_row(cx.plain(act.escalation.evaluate(ctx)), act.id, topic, key)
        if row is not None:
            self.draft.escalations.append(row)

    def leg1_signal(self, act: ActivityPlan, dad: str, ctx: dict[str, Any]) -> None:
        data = cx.plain(act.signal_maps.evaluate(ctx)) if act.signal_maps else {}
        topic = act.topic.evaluate(ctx) if act.topic is not None else None
        if not isinstance(topic, str) or not topic:
            raise errors.HotMeshError(
                f"activity '{act.id}': signal topic resolved to {topic!r}"
            )
        status = self.value(act, "status", ctx)
        code = self.value(act, "code", ctx)
        out = outcomes.signal_out(topic, data, status, code)
        if act.subtype == "all":
            name = self.value(act, "key_name", ctx)
            value = self.value(act, "key_value", ctx)
            resolver = act.resolver_maps.evaluate(ctx) if act.resolver_maps else {}
            scrub = isinstance(resolver, dict) and truthy(resolver.get("scrub"))
            scrub = scrub or truthy(self.value(act, "scrub", ctx))
            out = outcomes.signal_out(
                topic, data, status, code, f"{name}:{value}", scrub
            )
        self.draft.signals.append(out)
        self.finish(act, dad, 200, {}, "success", ActivityRow(act.id, dad, "signal"))

    def leg1_cycle(self, act: ActivityPlan, dad: str, ctx: dict[str, Any]) -> None:
        data = cx.plain(act.input_maps.evaluate(ctx)) if act.input_maps else None
        ancestor = act.cycle_ancestor
        if ancestor is None:
            raise errors.HotMeshError(f"cycle '{act.id}' names no ancestor")
        depth = self.plan.activity(ancestor).depth
        parts = dims(dad)[: depth + 1]
        base = dad_of([*parts[:-1], "0"])
        pivot = self.rows.get((ancestor, base))
        if pivot is None:
            raise errors.HotMeshError(
                f"cycle '{act.id}': ancestor '{ancestor}' has not run in {base}"
            )
        count = max(entries(pivot), 1)
        if count > self.max_cycles:
            raise errors.HotMeshError(
                f"cycle '{act.id}' re-entered '{ancestor}' more than {self.max_cycles} "
                "times (the max_cycles limit)"
            )
        self.put(with_entries(pivot, count + 1))
        meta = self.meta(act, dad)
        self.put(ActivityRow(act.id, dad, "cycle", 1, True, data, {"metadata": meta}))
        # One lap per step inline (MemFlow's replay loop); later laps yield.
        self.laps += 1
        lap = (ancestor, reentry_dad(base, count))
        self.defer(*lap) if self.laps > 1 else self.queue.append(lap)

    def leg1_interrupt(self, act: ActivityPlan, dad: str, ctx: dict[str, Any]) -> None:
        target = self.value(act, "target", ctx)
        options: dict[str, Any] = {}
        for name in ("reason", "throw", "code", "expire", "descend", "stack"):
            value = self.value(act, name, ctx)
            if value is not UNDEFINED:
                options[name] = value
        self.finish(act, dad, 200, {}, "success", ActivityRow(act.id, dad, "interrupt"))
        self.event(act, dad, "hotmesh.interrupt", **spans.interrupt(target, options))
        if target in (UNDEFINED, None, "", self.job.job_id):
            self.interrupt(options)
        else:
            # Another job: interrupted in this step's transaction by the shell,
            # so it stops before any of its own messages that are already due.
            self.draft.interrupts.append((str(target), options))

    # -- Leg 2 / completion of an activity -------------------------------
    def finish(
        self,
        act: ActivityPlan,
        dad: str,
        code: int,
        data: Any,
        status: str,
        row: ActivityRow,
        hook: Any = None,
    ) -> None:
        """Bind output (or error), run maps, take transitions; ``pending`` keeps it open."""
        old = row.output.get("metadata", {}) if isinstance(row.output, dict) else {}
        meta = {
            **self.meta(act, dad),
            "ac": old.get("ac", self.stamp),
            "au": self.stamp,
        }
        for key in ("l2", "sk", "try"):
            if key in old:
                meta[key] = old[key]
        error: dict[str, Any] | None = None
        if status == "error":
            error = outcomes.activity_error(data, code, meta)
        if hook is not None:
            row.hook = hook
        self_node: dict[str, Any] = {"output": {"data": data, "metadata": meta}}
        if row.input is not None:
            self_node["input"] = {"data": row.input}
        if row.hook is not None:
            self_node["hook"] = {"data": row.hook}
        if act.output_maps is not None and act.type in ("hook", "signal", "interrupt"):
            # Activities without a worker bind their output from their maps.
            ctx = self.ctx(act.id, dad, self_node)
            data = cx.plain(act.output_maps.evaluate(ctx))
            self_node["output"]["data"] = data
        pending = status == "pending"
        row.leg, row.done = 2, not pending
        row.output = {"data": data, "metadata": meta}
        row.error = meta.get("$error")
        self.put(row)
        ctx = self.ctx(act.id, dad, self_node)
        if act.job_maps is not None:
            self.apply_job_maps(act, ctx)
            cx.new_data(ctx, self.job.data)  # transitions see the new data
        if self.traced and not pending:
            spans.done(self.draft, act, dad, ctx, old)
        taken = self.transitions(act, dad, code, ctx, pending)
        if error is not None and taken == 0 and self.error is None:
            self.error = {**error, "is_stream_error": True}
        if truthy(self.value(act, "emit", ctx)) or truthy(
            self.value(act, "persist", ctx)
        ):
            self.emitted = True

    def leg2(
        self,
        act: ActivityPlan,
        row: ActivityRow,
        code: int,
        data: Any,
        status: str,
        hook: Any = None,
    ) -> None:
        """Apply one Leg 2 entry; entries after the first run in a new dimension."""
        count = entries(row) + 1
        dad = row.dimension
        if count == 1:
            target = with_entries(row, 1)
        else:
            # Re-entry n (after a 202): its own row in dimension ...,n.
            self.put(
                with_entries(row, count)
                if status == "pending"
                else dimensions.done_row(with_entries(row, count))
            )
            dad = reentry_dad(row.dimension, count - 1)
            target = ActivityRow(
                act.id, dad, act.type, 1, False, row.input, {"metadata": {}}
            )
        self.finish(act, dad, code, data, status, target, hook=hook)

    # -- closing ------------------------------------------------------------
    def fail_now(self, message: str) -> None:
        """End the job in this step with error ``message`` (a limit it ran into)."""
        error = {"message": message, "code": 500, "job_id": self.job.job_id}
        self.error = self.error or error
        self.queue.clear()
        self.close()

    def close(self) -> None:
        """Complete the job in this step, whatever branches are still open."""
        self.closing = True

    def interrupt(self, options: dict[str, Any]) -> None:
        """Interrupt this job: error 410 unless ``throw`` is false."""
        error = outcomes.interrupt_error(self.job.job_id, options)
        if error is not None:
            self.error = error
        expire = guards.expire_seconds("interrupt", options.get("expire"))
        if expire is not None:
            self.draft.expire = expire
        if truthy(options.get("descend")):
            self.draft.descend = {**options, "descend": True}
        self.draft.cancel_escalations = True
        self.closing = True
        self.queue.clear()
        self.draft.delta += INTERRUPTED - self.status()

    def defer(self, aid: str, dad: str) -> None:
        """Run Leg 1 of ``aid`` in ``dad`` as a step of its own (a message)."""
        md = self.address(self.plan.activity(aid), dad)
        self.send(ENGINE_STREAM, "transition", {"metadata": md})

    def drain(self) -> None:
        while self.queue:
            aid, dad = self.queue.popleft()
            if self.legs >= guards.FANOUT_BATCH:
                # A big fan-out: the rest run in later steps, yielding between.
                self.defer(aid, dad)
                continue
            self.legs += 1
            self.at = aid
            self.leg1(aid, dad)

    def complete(self) -> StepCommit:
        """Close the job when its semaphore reaches zero, or when it is closing."""
        self.drain()
        draft = self.draft
        self.job.metadata = {**self.job.metadata, "ju": self.stamp}
        runaway = guards.count_step(self.job.metadata, self.max_steps)
        if runaway is not None and not self.closing:
            self.fail_now(runaway)
        if self.closing and self.status() > 0:
            draft.delta -= self.status()
        status = self.status()
        if status != 0 and not (self.closing and status <= 0):
            if self.emitted:
                self.publish_interim(status)
            return self.result()
        graph = self.plan.graph_for_topic(self.job.topic)
        expire = draft.expire
        if expire is None and graph is not None and graph.expire is not None:
            rule = graph.expire  # a constant (``expire: 60``) reads no context
            value = rule.evaluate({} if rule.is_constant else self.ctx(None, ",0"))
            try:
                expire = guards.expire_seconds(f"graph '{graph.subscribes}'", value)
            except errors.InvalidDataError as exc:  # ends with the error instead
                self.fail_now(str(exc))
        expire = DEFAULT_EXPIRE if expire is None else expire
        final = job_with(self.row(), status=status)
        draft.completion = Completion(
            job_output(final), graph.publishes if graph else None, expire
        )
        self.notify_parent(200)
        self.signal_join(final)
        return self.result()

    def row(self) -> JobRow:
        """The job as stored: its error encoded (once, and only if it changed)."""
        if self.error is not self._read_error:
            self.job.err = None if self.error is None else err_string(self.error)
            self._read_error = self.error
        return self.job

    def result(self) -> StepCommit:
        """What the step returns: the draft, frozen, over the stored job."""
        self.row()
        return self.draft.freeze()

    def publish_interim(self, status: int) -> None:
        """``emit``: publish the job's current output, tell an awaiting parent 202."""
        self.draft.emit = job_output(job_with(self.row(), status=status))
        self.notify_parent(202)

    def signal_join(self, final: JobRow) -> None:
        """A detached child with a join key signals its outcome to that key."""
        out = outcomes.join_signal(self.job, final, self.error)
        if out is not None:
            self.draft.signals.append(out)

    def notify_parent(self, code: int) -> None:
        payload = outcomes.parent_result(self.job, code, self.error)
        if payload is not None:
            pj = str(self.job.metadata["pj"])
            self.send(ENGINE_STREAM, "result", payload, job_id=pj)
