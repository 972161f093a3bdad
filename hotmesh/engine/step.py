"""The pure step: plan + job snapshot + message + now -> StepCommit (no I/O).

A step applies one message to one job and then "runs ahead": Leg 1 of every
child it spawns (passthrough hooks, worker dispatch, await dispatch, sleeps) is
applied in the same step, so a whole chain commits in one transaction.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotmesh import errors
from hotmesh.compiler.plan import ActivityPlan, GraphPlan, Plan
from hotmesh.engine import context as cx
from hotmesh.expr.js import UNDEFINED, is_number, truthy
from hotmesh.store.records import (
    ENGINE_STREAM,
    ActivityRow,
    JobRow,
    NewMessage,
    worker_stream,
)

#: Message priorities (spec §4.2): higher is claimed first.
PRIORITY = {
    "timehook": 5,
    "transition": 4,
    "result": 3,
    "response": 2,
    "worker": 1,
    "await": 0,
}
DEFAULT_EXPIRE = 1.0


def new_job_id() -> str:
    """``H`` + a 22-character random id over nanoid's alphabet, as upstream."""
    # 16 random bytes in URL-safe base64 are exactly 22 characters of
    # [A-Za-z0-9_-]: 128 bits, at a fraction of the cost of 22 choice() calls.
    return "H" + secrets.token_urlsafe(16)


def err_string(error: dict[str, Any]) -> str:
    """A job error as upstream stores it in ``metadata.err`` (compact JSON)."""
    return json.dumps(error, separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True)
class Completion:
    """What a job's completion publishes (spec §4.8)."""

    output: dict[str, Any]
    publishes: str | None
    expire: float


@dataclass(slots=True)
class StepCommit:
    """Everything one step writes, committed in one transaction by the shell."""

    job: JobRow
    new_job: bool = False
    delta: int = 0
    activities: list[ActivityRow] = field(default_factory=list)
    messages: list[NewMessage] = field(default_factory=list)
    completion: Completion | None = None
    #: interim output published by an ``emit: true`` trigger (spec §2.4)
    emit: dict[str, Any] | None = None
    parent: str | None = None
    dropped: str | None = None


def job_output(job: JobRow) -> dict[str, Any]:
    """``{metadata, data?}`` as subscribers see it (spec §4.1)."""
    meta = dict(job.metadata)
    meta["js"] = job.status
    if job.err is not None:
        meta["err"] = job.err
    out: dict[str, Any] = {"metadata": meta}
    data = cx.public_data(job.data)
    if data:
        out["data"] = data
    return out


class _Run:
    """Mutable state of one step over a copied job snapshot."""

    def __init__(self, plan: Plan, job: JobRow, now: datetime, new: bool) -> None:
        self.plan = plan
        self.job = job
        self.now = now
        self.stamp = cx.stamp(now)
        self.rows = {(r.activity_id, r.dimension): r for r in job.activities}
        self.commit = StepCommit(job=job, new_job=new)
        self.queue: deque[tuple[str, str]] = deque()

    # -- helpers ---------------------------------------------------------
    def ctx(
        self, aid: str | None, dad: str, self_node: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        meta = dict(self.job.metadata)
        meta["js"] = self.job.status + self.commit.delta
        return cx.build(meta, self.job.data, self.rows.values(), aid, dad, self_node)

    def put(self, row: ActivityRow) -> None:
        self.rows[(row.activity_id, row.dimension)] = row
        self.commit.activities = [
            r
            for r in self.commit.activities
            if (r.activity_id, r.dimension) != (row.activity_id, row.dimension)
        ]
        self.commit.activities.append(row)

    def send(
        self,
        stream: str,
        kind: str,
        payload: dict[str, Any],
        delay: float = 0.0,
        job_id: str | None = None,
    ) -> None:
        self.commit.messages.append(
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

    def apply_job_maps(self, act: ActivityPlan, ctx: dict[str, Any]) -> None:
        if act.job_maps is not None:
            patch = act.job_maps.evaluate(ctx)
            self.job.data = cx.plain(cx.write_job_data(self.job.data, patch))

    def transitions(
        self, act: ActivityPlan, dad: str, code: int, ctx: dict[str, Any], pending: bool
    ) -> int:
        children = [t.to for t in act.transitions if t.passes(code, ctx)]
        for child in children:
            self.queue.append((child, dad + ",0"))
        self.commit.delta += len(children) if pending else len(children) - 1
        return len(children)

    # -- Leg 1 -----------------------------------------------------------
    def leg1(self, aid: str, dad: str) -> None:
        act = self.plan.activity(aid)
        if (aid, dad) in self.rows:
            # Entered already in this dimension (a replayed transition, e.g. after a
            # 202 pending): dropped, giving back the obligation counted for it.
            self.commit.delta -= 1
            return
        ctx = self.ctx(aid, dad, {})
        jid, gid = self.job.job_id, self.job.gid
        if act.type == "worker":
            data = cx.plain(act.input_maps.evaluate(ctx)) if act.input_maps else {}
            topic = act.topic.evaluate(ctx) if act.topic is not None else None
            if not isinstance(topic, str) or not topic:
                raise errors.HotMeshError(
                    f"activity '{aid}': worker topic resolved to {topic!r}"
                )
            self.put(
                ActivityRow(
                    aid,
                    dad,
                    "worker",
                    1,
                    False,
                    data,
                    {"metadata": self.meta(act, dad)},
                )
            )
            md = {
                "jid": jid,
                "gid": gid,
                "dad": dad,
                "aid": aid,
                "topic": topic,
                "vrs": self.job.version,
                "try": 0,
            }
            self.send(worker_stream(topic), "worker", {"metadata": md, "data": data})
        elif act.type == "await":
            data = cx.plain(act.input_maps.evaluate(ctx)) if act.input_maps else {}
            topic = act.topic.evaluate(ctx) if act.topic is not None else None
            rule = act.field_rule("await")
            flag = rule.evaluate(ctx) if rule is not None else UNDEFINED
            severed = flag is False or flag == "false"
            self.put(
                ActivityRow(
                    aid, dad, "await", 1, False, data, {"metadata": self.meta(act, dad)}
                )
            )
            parent = {"pj": jid, "pg": gid, "pd": dad, "pa": aid, "px": severed}
            self.send(
                ENGINE_STREAM,
                "await",
                {
                    "topic": topic,
                    "data": data,
                    "parent": parent,
                    "vrs": self.job.version,
                },
            )
        elif act.type == "hook":
            rule = act.field_rule("sleep")
            sleep: Any = rule.evaluate(ctx) if rule is not None else None
            if is_number(sleep) and sleep > 0:
                self.put(
                    ActivityRow(
                        aid,
                        dad,
                        "hook",
                        1,
                        False,
                        None,
                        {"metadata": self.meta(act, dad)},
                    )
                )
                md = {"jid": jid, "gid": gid, "dad": dad, "aid": aid}
                self.send(
                    ENGINE_STREAM, "timehook", {"metadata": md}, delay=float(sleep)
                )
            else:
                self.finish(
                    act,
                    dad,
                    200,
                    {},
                    "success",
                    ActivityRow(aid, dad, "hook"),
                    mapped=True,
                )
        else:
            raise errors.HotMeshError(
                f"activity '{aid}' has type '{act.type}', which this engine does not run yet"
            )

    # -- Leg 2 / completion of an activity -------------------------------
    def finish(
        self,
        act: ActivityPlan,
        dad: str,
        code: int,
        data: Any,
        status: str,
        row: ActivityRow,
        mapped: bool = False,
        hook: Any = None,
    ) -> None:
        meta = row.output.get("metadata", {}) if isinstance(row.output, dict) else {}
        meta = {
            **self.meta(act, dad),
            "ac": meta.get("ac", self.stamp),
            "au": self.stamp,
        }
        error: dict[str, Any] | None = None
        if status == "error":
            body = data if isinstance(data, dict) else {"message": str(data)}
            error = {"message": body.get("message", "error"), "code": code}
            if "stack" in body:
                error["stack"] = body["stack"]
            if "job_id" in body:
                error["job_id"] = body["job_id"]
            meta["err"] = err_string({k: v for k, v in body.items()})
            meta["$error"] = {**error, "is_stream_error": True}
        if hook is not None:
            row.hook = hook
        self_node: dict[str, Any] = {"output": {"data": data, "metadata": meta}}
        if row.input is not None:
            self_node["input"] = {"data": row.input}
        if hook is not None:
            self_node["hook"] = {"data": hook}
        if mapped and act.output_maps is not None:
            ctx = self.ctx(act.id, dad, self_node)
            data = cx.plain(act.output_maps.evaluate(ctx))
            self_node["output"]["data"] = data
        pending = status == "pending"
        row.leg, row.done = 2, not pending
        row.output = {"data": data, "metadata": meta}
        row.error = meta.get("$error")
        self.put(row)
        ctx = self.ctx(act.id, dad, self_node)
        self.apply_job_maps(act, ctx)
        ctx = self.ctx(act.id, dad, self_node)
        taken = self.transitions(act, dad, code, ctx, pending)
        if error is not None and taken == 0 and self.job.err is None:
            self.job.err = err_string({**error, "is_stream_error": True})

    def drain(self) -> None:
        while self.queue:
            aid, dad = self.queue.popleft()
            self.leg1(aid, dad)

    def complete(self) -> StepCommit:
        """Close the job when the semaphore reaches zero (spec §4.8)."""
        self.drain()
        commit = self.commit
        self.job.metadata = {**self.job.metadata, "ju": self.stamp}
        status = self.job.status + commit.delta
        if status != 0:
            return commit
        graph = self.plan.graph_for_topic(self.job.topic)
        expire = DEFAULT_EXPIRE
        if graph is not None and graph.expire is not None:
            value = graph.expire.evaluate(self.ctx(None, ",0"))
            if is_number(value):
                expire = float(value)
        final = JobRow(**{**_fields(self.job), "status": 0})
        commit.completion = Completion(
            job_output(final), graph.publishes if graph else None, expire
        )
        md = self.job.metadata
        if md.get("pj") and not md.get("px"):
            payload: dict[str, Any] = {
                "metadata": {
                    "jid": md["pj"],
                    "gid": md.get("pg"),
                    "dad": md.get("pd"),
                    "aid": md.get("pa"),
                    "child": self.job.job_id,
                },
                "status": "success",
                "code": 200,
                "data": cx.public_data(self.job.data),
            }
            if self.job.err is not None:
                parsed = json.loads(self.job.err)
                payload.update(
                    status="error", code=parsed.get("code", 500), data=parsed
                )
            self.send(ENGINE_STREAM, "result", payload, job_id=str(md["pj"]))
        return commit


def _fields(job: JobRow) -> dict[str, Any]:
    return {k: getattr(job, k) for k in JobRow.__slots__}


def _copy(job: JobRow) -> JobRow:
    fields = _fields(job)
    fields["metadata"] = dict(job.metadata)
    fields["data"] = dict(job.data)
    fields["activities"] = list(job.activities)
    return JobRow(**fields)


def trigger(
    plan: Plan,
    graph: GraphPlan,
    payload: dict[str, Any],
    now: datetime,
    parent: dict[str, Any] | None = None,
    job_id: str | None = None,
) -> StepCommit:
    """Create a job: trigger state, job maps, children (run ahead), maybe completion."""
    act = plan.activity(graph.trigger)
    node = {"input": {"data": payload}, "output": {"data": payload}}
    base = {"metadata": {}, "data": {}, act.id: node, "$self": node}
    rule = act.field_rule("stats.id")
    if job_id is None:
        value = rule.evaluate(base) if rule is not None else UNDEFINED
        job_id = (
            new_job_id()
            if value is UNDEFINED or value is None or value == ""
            else str(value)
        )
    key_rule = act.field_rule("stats.key")
    key_value = key_rule.evaluate(base) if key_rule is not None else UNDEFINED
    key = "" if key_value is UNDEFINED or key_value is None else str(key_value)
    stamp = cx.stamp(now)
    metadata: dict[str, Any] = {
        "jid": job_id,
        "gid": uuid.uuid4().hex,
        "key": key,
        "app": plan.app_id,
        "vrs": plan.version,
        "tpc": graph.subscribes,
        "ts": now.strftime("%Y%m%d%H%M"),
        "jc": stamp,
        "ju": stamp,
        "aid": act.id,
    }
    if parent:
        metadata.update({k: v for k, v in parent.items() if v is not None})
    job = JobRow(
        0, job_id, metadata["gid"], key, graph.subscribes, plan.version, 0, metadata, {}
    )
    run = _Run(plan, job, now, new=True)
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
    run.apply_job_maps(act, ctx)
    ctx = run.ctx(act.id, ",0", cx.node(row))
    run.commit.delta = len([t for t in act.transitions if t.passes(200, ctx)])
    for t in act.transitions:
        if t.passes(200, ctx):
            run.queue.append((t.to, ",0,0"))
    if parent and parent.get("pj"):
        run.commit.parent = str(parent["pj"])
        if parent.get("px"):  # await: false -> the parent gets the child's id at once
            md = {
                "jid": parent["pj"],
                "gid": parent.get("pg"),
                "dad": parent.get("pd"),
                "aid": parent.get("pa"),
            }
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
    commit = run.complete()
    emit = act.field_rule("emit")
    if commit.completion is None and emit is not None and truthy(emit.evaluate(ctx)):
        status = commit.delta
        commit.emit = job_output(JobRow(**{**_fields(run.job), "status": status}))
    return commit


def fail(plan: Plan, job: JobRow, error: dict[str, Any], now: datetime) -> StepCommit:
    """Close a job whose step cannot run (say, an expression failed) with ``error``.

    The job completes at once with ``metadata.err`` set, so ``pubsub`` callers,
    subscribers and an awaiting parent all learn of the failure instead of
    waiting for a job that can never finish.
    """
    job = _copy(job)
    run = _Run(plan, job, now, new=False)
    if job.status <= 0:
        run.commit.dropped = "job is not active"
        return run.commit
    job.err = err_string(error)
    run.commit.delta = -job.status
    return run.complete()


def apply(
    plan: Plan, job: JobRow, kind: str, payload: dict[str, Any], now: datetime
) -> StepCommit:
    """Apply an engine message (``response``, ``result``, ``timehook``, ``transition``)."""
    job = _copy(job)
    run = _Run(plan, job, now, new=False)
    md = payload.get("metadata", {})
    aid, dad = str(md.get("aid")), str(md.get("dad"))
    if md.get("gid") not in (None, job.gid):
        run.commit.dropped = "generation mismatch"
        return run.commit
    if job.status <= 0:
        run.commit.dropped = "job is not active"
        return run.commit
    if kind == "transition":
        run.leg1(aid, dad)
        return run.complete()
    act = plan.activities.get(aid)
    row = run.rows.get((aid, dad))
    if act is None or row is None or row.done:
        run.commit.dropped = f"no open activity {aid}{dad}"
        return run.commit
    row = ActivityRow(**{k: getattr(row, k) for k in ActivityRow.__slots__})
    status = str(payload.get("status") or "success")
    code = payload.get("code")
    if not isinstance(code, int):
        code = 202 if status == "pending" else (500 if status == "error" else 200)
    if kind == "timehook":
        run.finish(
            act,
            dad,
            200,
            {},
            "success",
            row,
            mapped=True,
            hook={"timestamp": int(now.timestamp() * 1000)},
        )
    else:
        data = payload.get("data")
        run.finish(act, dad, code, data if data is not None else {}, status, row)
    return run.complete()
