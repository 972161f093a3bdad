"""Reset: re-run a workflow from a recorded step, keeping its history before it.

A workflow's history is its job data: each durable call's result under its
replay index (``-proxy-3-``), the handler events with the point they were
applied at (``-evt:<gen>:<n>-``), update outcomes and condition deadlines.
A reset to step N builds a new run from that: the markers of steps 1 to
N-1 and the events applied before step N, re-keyed to generation 0, become
the new job's starting data, so its first activation replays them and calls
step N again. The replaced run keeps its row, under ``<id>:run:<gid>``; the
new run takes the workflow id with a new run id (its job's ``gid``), both in
one transaction. Signals the replaced run took after the reset point (and any
still in its inbox) are delivered to the new run again, as Temporal does.
The replaced run's open signal waits end before the new run starts: their
keys are named after the workflow id, which the new run listens on too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hotmesh import errors
from hotmesh.engine.engine import finished
from hotmesh.memflow import closing, timeouts
from hotmesh.memflow.context import _MARKER, marker_name
from hotmesh.memflow.handlers import (
    FRONT_KEY,
    IDLE_MARKER,
    SEQ_KEY,
    event_key,
    recorded_events,
    update_key,
)
from hotmesh.memflow.updates import wake
from hotmesh.store.messages import MessageRows
from hotmesh.store.records import JobRow
from hotmesh.store.runs import RunRows

if TYPE_CHECKING:
    from hotmesh.memflow.client import Client, WorkflowHandle

#: job data left out of a new run: the replaced run's inbox position and idle wait
_DROPPED = (SEQ_KEY, FRONT_KEY, IDLE_MARKER)
#: recorded steps a "no such step" error lists at most
_LISTED = 12


@dataclass
class ResetPlan:
    """What a reset keeps: ``step`` runs again; ``history`` is the new run's
    starting data; ``signals`` are delivered again ``(name, args)``."""

    step: int
    history: dict[str, Any] = field(default_factory=dict)
    signals: list[tuple[str, list[Any]]] = field(default_factory=list)


def steps(data: dict[str, Any]) -> dict[int, str]:
    """The recorded steps of the current run: replay index -> label."""
    generation = int(data.get("generation") or 0)
    out: dict[int, str] = {}
    for key, value in data.items():
        match = _MARKER.match(key)
        if match is None:
            continue
        kind, gen, scope, index = match.groups()
        if int(gen or 0) != generation or scope:
            continue
        label = kind
        if isinstance(value, dict) and value.get("name"):
            label = f"{kind} '{value['name']}'"
        if isinstance(value, dict) and "error" in value:
            label += " (failed)"
        out[int(index)] = label
    return dict(sorted(out.items()))


def _failed_step(recorded: dict[int, str]) -> int | None:
    failed = [i for i, label in recorded.items() if label.endswith("(failed)")]
    return max(failed) if failed else None


def choose_step(
    workflow_id: str,
    job: JobRow,
    to_step: int | None,
    to_last_failure: bool,
) -> int:
    """The step a reset re-runs from; ``ConfigError`` when there is none."""
    if (to_step is None) == (not to_last_failure):
        raise errors.ConfigError(
            "reset: give exactly one of to_step=N or to_last_failure=True"
        )
    recorded = steps(job.data)
    last = max(recorded, default=0)
    if to_last_failure:
        failed = _failed_step(recorded)
        if failed is not None:
            return failed
        if finished(job) and job.err is not None:
            return last + 1  # the workflow's own code raised after its last step
        raise errors.ConfigError(
            f"reset: workflow '{workflow_id}' has no failure to reset to "
            "(no failed step, and it did not fail); use to_step=N"
        )
    if isinstance(to_step, bool) or not isinstance(to_step, int):
        raise errors.ConfigError(f"reset: to_step is a step number, not {to_step!r}")
    if not 1 <= to_step <= last + 1:
        shown = ", ".join(
            f"{i} {label}" for i, label in list(recorded.items())[:_LISTED]
        )
        more = "" if len(recorded) <= _LISTED else ", ..."
        have = f"its recorded steps: {shown}{more}" if recorded else "no step recorded"
        raise errors.ConfigError(
            f"reset: workflow '{workflow_id}' has no step {to_step} to reset to "
            f"(to_step is 1 to {last + 1}; {have})"
        )
    return to_step


def plan(data: dict[str, Any], step: int) -> ResetPlan:
    """The new run's starting data when step ``step`` runs again (pure)."""
    generation = int(data.get("generation") or 0)
    out = ResetPlan(step)
    for key, value in data.items():
        if not key.startswith("-") or key in _DROPPED:
            continue
        match = _MARKER.match(key)
        if match is not None:
            kind, gen, scope, index = match.groups()
            if int(gen or 0) == generation and not scope and int(index) < step:
                out.history[marker_name(kind, 0, int(index))] = value
            continue
        if key.startswith(("-evt:", "-upd:")):
            continue  # below: only those of the events kept
        if key.startswith("-cond:"):
            gen_text, _, cid = key[len("-cond:") : -1].partition(":")
            if gen_text == str(generation):
                out.history[f"-cond:0:{cid}-"] = value
            continue
        prefix = f"-patch${generation}" if generation else "-patch"
        if key.startswith("-patch"):
            if key.startswith(f"{prefix}:"):
                out.history["-patch" + key[len(prefix) :]] = value
            continue
        out.history[key] = value  # the names of the signal handlers, ...
    kept, cut = 0, False
    for event in recorded_events(data, generation):
        cut = cut or int(event.get("at", 0)) >= step
        if not cut:
            out.history[event_key(0, kept)] = event
            kept += 1
            if event.get("kind") == "update" and event.get("id"):
                key = update_key(str(event["id"]))
                if key in data:
                    out.history[key] = data[key]
        elif event.get("kind") == "signal":
            out.signals.append((str(event.get("name")), list(event.get("args") or [])))
    return out


def archive_id(workflow_id: str, gid: str) -> str:
    """The id the replaced run keeps (within the 255 characters of an id)."""
    return f"{workflow_id[: 255 - len(gid) - 5]}:run:{gid}"


async def reset(
    client: Client,
    workflow_id: str,
    to_step: int | None,
    to_last_failure: bool,
    reason: str | None,
) -> WorkflowHandle[Any]:
    """Replace the workflow's run with one that re-runs from the chosen step."""
    hm = await client.mesh()
    ns = client.namespace
    job = await hm.engine.read(workflow_id, include_expired=True, with_activities=True)
    if job is None or job.topic != f"{ns}.execute":
        raise errors.JobNotFoundError(workflow_id)
    step = choose_step(workflow_id, job, to_step, to_last_failure)
    planned = plan(job.data, step)
    rows = MessageRows(hm.store)
    if not finished(job):
        # signals still in the inbox are the replaced run's too
        taken = int(job.data.get(SEQ_KEY) or 0)
        for msg in await rows.after(ns, workflow_id, taken):
            if msg.get("kind") == "signal":
                planned.signals.append((str(msg["name"]), list(msg.get("args") or [])))
        why = reason or f"reset to step {step}"
        if await hm.interrupt(f"{ns}.execute", workflow_id, reason=why, suppress=True):
            await closing.close_children(hm, ns, workflow_id)
        job = await hm.engine.read(
            workflow_id, include_expired=True, with_activities=True
        )
        if job is None or not finished(job):
            raise errors.WorkflowError(
                f"reset: workflow '{workflow_id}' could not be stopped; nothing changed"
            )
    # before the new run exists: every open wait under the id is the old run's
    await closing.end_waits(hm, ns, workflow_id)
    payload = _payload(job, planned)
    await timeouts.arm_start(
        hm,
        ns,
        payload,
        job.data.get(timeouts.EXECUTION_KEY),
        job.data.get(timeouts.RUN_KEY),
    )
    handle = client.workflow.get_handle(
        str(job.data.get("taskQueue")), str(job.data.get("workflowName")), workflow_id
    )
    handle._watch(hm)
    commit = await hm.engine.prepare(f"{ns}.execute", payload)
    async with hm.store.transaction() as tx:
        moved = await RunRows(hm.store).archive(
            tx, ns, workflow_id, job.gid, archive_id(workflow_id, job.gid)
        )
        if not moved:
            raise errors.WorkflowError(
                f"reset: workflow '{workflow_id}' changed meanwhile (another reset "
                "or start); nothing changed"
            )
        written = await hm.engine.commit_in(tx, commit)
    hm.engine.after_commit(written)
    handle.run_id = commit.job.gid
    for name, args in planned.signals:
        await rows.add(ns, workflow_id, "signal", name, args)
    if planned.signals:
        await wake(hm, ns, workflow_id)
    return handle


def _payload(job: JobRow, planned: ResetPlan) -> dict[str, Any]:
    """The new run's start: the replaced run's own (its trigger's input) with
    the current run's arguments, search fields and the kept history."""
    data = job.data
    start: dict[str, Any] = {}
    for act in job.activities:
        if act.activity_id == "t" and isinstance(act.input, dict):
            start = dict(act.input)
    for key in (timeouts.TOKEN_KEY, timeouts.EXECUTION_KEY, timeouts.RUN_KEY):
        start.pop(key, None)
    start.update(
        {
            "workflowId": data.get("workflowId"),
            "workflowName": data.get("workflowName"),
            "taskQueue": data.get("taskQueue"),
            "arguments": list(data.get("args") or []),
            "history": planned.history,
        }
    )
    search = {k: v for k, v in data.items() if k.startswith("_")}
    if search:
        start["search"] = search
    start.setdefault("expire", 60.0)
    return start
