"""The pure step: plan + job snapshot + message + now -> StepCommit (no I/O).

``trigger`` creates a job, ``apply`` applies one engine message to a job,
``fail`` and ``interrupt`` close one. The activity logic lives in
:mod:`hotmesh.engine.run`; the records in :mod:`hotmesh.engine.commit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hotmesh import errors
from hotmesh.compiler.plan import GraphPlan, Plan
from hotmesh.engine import context as cx
from hotmesh.engine import explain, guards, spans
from hotmesh.engine.commit import (
    DEFAULT_EXPIRE,
    INTERRUPTED,
    MAX_CYCLES,
    PRIORITY,
    Completion,
    StepCommit,
    copy_job,
    err_string,
    job_output,
    new_job_id,
)
from hotmesh.engine.limits import JOB_PRIORITY
from hotmesh.engine.metadata import ParentRef
from hotmesh.engine.run import Run
from hotmesh.expr.js import UNDEFINED, truthy
from hotmesh.flow import Keys
from hotmesh.ids import uuid4_hex
from hotmesh.store.records import ENGINE_STREAM, ActivityRow, JobRow

#: job metadata of a delayed start: when it was to start (ISO, UTC), a flag
#: set while it waits for that time, and when it actually started (a stamp)
SCHEDULED_AT = "sat"
WAITING = "dly"
STARTED_AT = "st"

__all__ = [
    "DEFAULT_EXPIRE",
    "INTERRUPTED",
    "MAX_CYCLES",
    "PRIORITY",
    "Completion",
    "StepCommit",
    "apply",
    "err_string",
    "fail",
    "interrupt",
    "job_output",
    "new_job_id",
    "trigger",
]


def _facets(plan: Plan, graph: GraphPlan, base: dict[str, Any]) -> list[str]:
    """``field:value`` index entries of the trigger's ``measure: index`` stats."""
    act = plan.activity(graph.trigger)
    measures = act.config.get("stats", {}).get("measures") or []
    rule = act.field_rule("stats.measures")
    resolved = rule.evaluate(base) if rule is not None else UNDEFINED
    out = []
    for raw, value in zip(
        measures, resolved if isinstance(resolved, list) else [], strict=False
    ):
        if not isinstance(raw, dict) or raw.get("measure") != "index":
            continue
        target = raw.get("target")
        got = value.get("target") if isinstance(value, dict) else UNDEFINED
        if isinstance(target, str) and got not in (UNDEFINED, None, ""):
            name = target.strip("{}").split(".")[-1]
            out.append(f"{name}:{got}")
    return out


class _part:
    """A trigger's own expression failed: the job is not created (as upstream,
    whose trigger throws before the job exists), and the caller learns where.

    A class rather than a generator: six of them wrap every trigger."""

    __slots__ = ("aid", "graph", "part")

    def __init__(self, graph: GraphPlan, aid: str, part: str) -> None:
        self.graph, self.aid, self.part = graph, aid, part

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, errors.ExpressionError):
            where = f"trigger '{self.aid}' {self.part}"
            raise errors.TriggerError(self.graph.subscribes, where, str(exc)) from exc
        return None


def trigger(
    plan: Plan,
    graph: GraphPlan,
    payload: dict[str, Any],
    now: datetime,
    parent: dict[str, Any] | None = None,
    job_id: str | None = None,
    pending: float | None = None,
    max_cycles: int = MAX_CYCLES,
    max_steps: int = guards.MAX_STEPS,
    start_at: datetime | None = None,
    priority: int | None = None,
    extra: dict[str, Any] | None = None,
    topic_keys: Mapping[str, Keys] | None = None,
) -> StepCommit:
    """Create a job: trigger state, job maps, children (run ahead), maybe completion.

    ``priority`` (``pub(priority=)``) is kept in the job's metadata and orders
    its work messages unless an activity maps its own.

    ``pending`` (seconds) creates the job with status -1 and no children;
    it expires after that many seconds. An expression failing
    in the trigger, or in an activity run ahead in this step, raises
    ``TriggerError``: the job is not created. ``start_at`` creates it
    *scheduled*: trigger state and job maps now, semaphore 1 for the "start"
    message that takes the trigger's transitions at that time (``start``).
    ``extra`` adds job metadata.
    """
    act = plan.activity(graph.trigger)
    node = {"input": {"data": payload}, "output": {"data": payload}}
    base = {"metadata": {}, "data": {}, act.id: node, "$self": node}
    rule = act.field_rule("stats.id")
    if job_id is None:
        with _part(graph, act.id, "stats.id"):
            value = rule.evaluate(base) if rule is not None else UNDEFINED
        job_id = (
            new_job_id()
            if value is UNDEFINED or value is None or value == ""
            else str(value)
        )
    # No stats.key: the empty key, as upstream. A stats.key that resolves to
    # nothing: no key at all, so $job.metadata.key is undefined.
    key_rule = act.field_rule("stats.key")
    with _part(graph, act.id, "stats.key"):
        key_value = key_rule.evaluate(base) if key_rule is not None else ""
    has_key = key_value is not UNDEFINED and key_value is not None
    key = str(key_value) if has_key else ""
    stamp = cx.stamp(now)
    metadata: dict[str, Any] = {
        "jid": job_id,
        "gid": uuid4_hex(),
        **({"key": key} if has_key else {}),
        "app": plan.app_id,
        "vrs": plan.version,
        "tpc": graph.subscribes,
        "ts": stamp[:12] if now.year >= 1000 else now.strftime("%Y%m%d%H%M"),
        "jc": stamp,
        "ju": stamp,
        "aid": act.id,
    }
    if priority is not None:
        metadata[JOB_PRIORITY] = priority
    if parent:
        metadata.update({k: v for k, v in parent.items() if v is not None})
    if extra:  # set before the maps run (a schedule's tick: ``sch``, ``sat``)
        metadata.update(extra)
    job = JobRow(
        0, job_id, metadata["gid"], key, graph.subscribes, plan.version, 0, metadata, {}
    )
    run = Run(plan, job, now, new=True, max_cycles=max_cycles, max_steps=max_steps)
    run.topic_keys = topic_keys or run.topic_keys
    row = ActivityRow(
        act.id,
        ",0",
        "trigger",
        2,
        True,
        payload,
        {"data": payload, "metadata": run.meta(act, ",0")},
    )
    run.put(row)
    ctx = run.ctx(act.id, ",0", cx.node(row))
    with _part(graph, act.id, "job.maps"):
        run.apply_job_maps(act, ctx)
    cx.new_data(ctx, run.job.data)
    if run.traced:
        spans.done(run.draft, act, ",0", ctx, {})
    with _part(graph, act.id, "stats.measures"):
        run.draft.facets = _facets(plan, graph, base)
    if parent and parent.get("pj"):
        _link_parent(run, parent, job_id, stamp)
    if pending is not None:
        run.draft.delta = -1
        run.draft.expire = guards.expire_seconds("pub", pending, "pending")
        if run.draft.expire is None:
            raise errors.InvalidDataError(f"pub: pending {pending!r} is not a number")
        return run.result()
    if start_at is not None:
        run.job.metadata[SCHEDULED_AT] = start_at.astimezone(UTC).isoformat()
        run.job.metadata[WAITING] = 1
        run.draft.delta = 1
        return run.result()
    with _part(graph, act.id, "transitions"):
        children, row.why = explain.take(act.transitions, 200, ctx)
    emit = act.field_rule("emit")
    with _part(graph, act.id, "emit"):
        run.emitted = emit is not None and truthy(emit.evaluate(ctx))
    run.draft.delta = len(children)
    run.queue.extend((child, ",0,0") for child in children)
    try:
        return run.complete()
    except errors.ExpressionError as exc:
        # An activity run ahead in pub's own step: refused like the trigger
        # (nothing is written), naming the activity.
        where = (
            f"activity '{run.at}' (run in the trigger's step)"
            if run.at is not None
            else "the graph's expire"
        )
        raise errors.TriggerError(graph.subscribes, where, str(exc)) from exc


def _link_parent(run: Run, parent: dict[str, Any], job_id: str, stamp: str) -> None:
    """A child job: remember its parent; ``await: false`` tells it the id at once."""
    run.draft.parent = str(parent["pj"])
    if parent.get("px"):
        md = ParentRef.from_metadata(parent).address.to_metadata()
        run.send(
            ENGINE_STREAM,
            "result",
            {
                "metadata": md,
                "status": "success",
                "code": 200,
                "data": {"job_id": job_id, "jc": stamp, "ju": stamp},
            },
            job_id=str(parent["pj"]),
        )


def _start(run: Run) -> StepCommit:
    """A scheduled job's start: the trigger's transitions, taken now."""
    meta = run.job.metadata
    graph = run.plan.graph_for_topic(run.job.topic)
    row = run.rows.get((graph.trigger, ",0")) if graph is not None else None
    if graph is None or row is None or not meta.get(WAITING):
        run.draft.dropped = "job is not waiting for its start"
        return run.result()
    run.job.metadata = {k: v for k, v in meta.items() if k != WAITING}
    run.job.metadata[STARTED_AT] = run.stamp
    act = run.plan.activity(graph.trigger)
    ctx = run.ctx(act.id, ",0", cx.node(row))
    run.transitions(act, ",0", 200, ctx, pending=False)
    emit = act.field_rule("emit")
    if emit is not None and truthy(emit.evaluate(ctx)):
        run.emitted = True
    return run.complete()


def fail(plan: Plan, job: JobRow, error: dict[str, Any], now: datetime) -> StepCommit:
    """Close a job whose step cannot run (say, an expression failed) with ``error``.

    The job completes at once with ``metadata.err`` set, so ``pubsub`` callers,
    subscribers and an awaiting parent all learn of the failure instead of
    waiting for a job that can never finish.
    """
    job = copy_job(job)
    run = Run(plan, job, now, new=False)
    if job.status <= 0:
        run.draft.dropped = "job is not active"
        return run.result()
    run.error = error
    run.close()
    return run.complete()


def interrupt(
    plan: Plan, job: JobRow, options: dict[str, Any], now: datetime
) -> StepCommit:
    """Interrupt a job; ``dropped`` when it is not active."""
    job = copy_job(job)
    run = Run(plan, job, now, new=False)
    if job.status <= 0:
        run.draft.dropped = f"job {job.job_id} is not active"
        return run.result()
    run.interrupt(options)
    return run.complete()


def apply(
    plan: Plan,
    job: JobRow,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    max_cycles: int = MAX_CYCLES,
    max_steps: int = guards.MAX_STEPS,
    topic_keys: Mapping[str, Keys] | None = None,
) -> StepCommit:
    """Apply an engine message (``response``, ``result``, ``timehook``, ``webhook``,
    ``transition``, ``interrupt``, ``start``) to a job."""
    job = copy_job(job)
    run = Run(plan, job, now, new=False, max_cycles=max_cycles, max_steps=max_steps)
    run.topic_keys = topic_keys or run.topic_keys
    md = payload.get("metadata", {})
    aid, dad = str(md.get("aid")), str(md.get("dad"))
    if md.get("gid") not in (None, job.gid):
        run.draft.dropped = "generation mismatch"
        return run.result()
    if job.status <= 0:
        run.draft.dropped = "job is not active"
        return run.result()
    if kind == "interrupt":
        run.interrupt(dict(payload.get("options") or {}))
        return run.complete()
    if kind == "start":
        return _start(run)
    if kind == "transition":
        run.leg1(aid, dad)
        return run.complete()
    act = plan.activities.get(aid)
    row = run.rows.get((aid, dad))
    if act is None or row is None or row.done:
        run.draft.dropped = f"no open activity {aid}{dad}"
        return run.result()
    status = str(payload.get("status") or "success")
    code = payload.get("code")
    if not isinstance(code, int):
        code = 202 if status == "pending" else (500 if status == "error" else 200)
    meta = row.output.get("metadata", {}) if isinstance(row.output, dict) else {}
    if kind == "timehook":
        if meta.get("sk"):
            key = str(meta["sk"])
            run.draft.unregister.append(key)  # the timeout won the race
            run.event(act, dad, "hotmesh.timeout", **{"hotmesh.signal.key": key})
            if act.escalation is not None and act.hook_topic:
                value = key[len(act.hook_topic) + 1 :]
                run.draft.expired_escalations.append((act.hook_topic, value))
        hook = {"timestamp": int(now.timestamp() * 1000)}
        run.leg2(act, row, 200, {}, "success", hook=hook)
    elif kind == "webhook":
        data = payload.get("data")
        if run.traced and "lnk" in payload:
            run.draft.span_links[(aid, dad)] = payload["lnk"]
        if code == 202:
            status = "pending"  # a 202 signal keeps the hook open for more
        run.leg2(act, row, code, {}, status, hook=data if data is not None else {})
    else:
        data = payload.get("data")
        tries = md.get("try")
        if kind == "response" and isinstance(tries, int) and tries > 0:
            # retried: the run's row keeps how many attempts failed before this
            # answer (output.metadata.try), for the console's timeline
            out = dict(row.output) if isinstance(row.output, dict) else {}
            out["metadata"] = {**meta, "try": tries}
            row = dataclasses.replace(row, output=out)
        run.leg2(act, row, code, data if data is not None else {}, status)
    return run.complete()
