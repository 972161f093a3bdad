"""Workflow timeouts: ``execution_timeout`` and ``run_timeout`` end a workflow
that runs too long with the outcome ``timed_out`` (interrupt code 408).

Each timeout is a timer job (``<ns>.timeout.execute``) created as a delayed
start, so it is durable and fires on the mesh clock. When it fires, the
system worker ends the workflow if it still runs the same *run*: the timer
carries the run's ``timeoutToken`` (a new one per start or reset), and a run
timer its generation (``continue_as_new`` starts a new run, with its own timer).
The timers are created before the workflow, so a crash in between leaves
only a timer that finds nothing to end.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from hotmesh import errors
from hotmesh.durations import seconds
from hotmesh.memflow import closing
from hotmesh.mesh import HotMesh

#: the interrupt code (and ``err.code``) of a timed-out workflow
TIMED_OUT = 408
#: job data keys of a workflow with timeouts
TOKEN_KEY, EXECUTION_KEY, RUN_KEY = "timeoutToken", "executionTimeout", "runTimeout"
KINDS = ("execution", "run")


def timer_topic(namespace: str) -> str:
    """The topic timer jobs start on."""
    return f"{namespace}.timeout.execute"


def limit(value: Any, name: str) -> float | None:
    """A timeout in seconds (``30``, ``"10m"``), or None; ``ConfigError`` naming ``name``."""
    if value is None:
        return None
    out = seconds(value, f"workflow.start {name}")
    if not math.isfinite(out) or out <= 0:
        raise errors.ConfigError(
            f"workflow.start: {name} must be a positive duration, not {value!r}"
        )
    return out


def new_token() -> str:
    """A run's token: its timers end that run only."""
    return uuid.uuid4().hex


def timer_id(token: str, kind: str, generation: int) -> str:
    """The timer job's id (one per run, kind and generation)."""
    return f"timeout-{token}-{kind}-{generation}"


async def arm(
    hm: HotMesh,
    namespace: str,
    workflow_id: str,
    token: str,
    kind: str,
    seconds_: float,
    generation: int = 0,
    delay: float = 0.0,
) -> None:
    """Create the timer job that ends this run after ``seconds_`` (+ ``delay``);
    arming the same timer again adds nothing."""
    job_id = timer_id(token, kind, generation)
    payload = {
        "name": "timeout",
        "args": [workflow_id, token, kind, generation, seconds_],
        "marker": "-timeout-",
    }
    try:
        await hm.pub(
            timer_topic(namespace),
            {"timerId": job_id, "payload": payload},
            delay=seconds_ + delay,
        )
    except errors.DuplicateJobError:
        pass  # armed before (an activation that ran again)


async def arm_start(
    hm: HotMesh,
    namespace: str,
    payload: dict[str, Any],
    execution: float | str | None,
    run: float | str | None,
    delay: float | str | None = None,
) -> None:
    """Create the timers of ``execution_timeout`` / ``run_timeout`` (before the
    workflow: they end only the run whose token the payload gets)."""
    limits = {
        "execution": limit(execution, "execution_timeout"),
        "run": limit(run, "run_timeout"),
    }
    if not any(limits.values()):
        return
    token = new_token()
    payload[TOKEN_KEY] = token
    wait = seconds(delay) if delay is not None else 0.0
    for kind, secs in limits.items():
        if secs:
            payload[f"{kind}Timeout"] = secs
            await arm(hm, namespace, payload["workflowId"], token, kind, secs, 0, wait)


async def fire(hm: HotMesh, namespace: str, args: list[Any]) -> str:
    """A timer fired: end the workflow (timed out) if it still runs that run."""
    workflow_id, token, kind, generation, seconds_ = args
    job = await hm.engine.read(str(workflow_id))
    if job is None or job.status <= 0:
        return "ended"
    if job.data.get(TOKEN_KEY) != token:
        return "another run"
    if kind == "run" and int(job.data.get("generation") or 0) != int(generation):
        return "a later run"
    ended = await hm.interrupt(
        f"{namespace}.execute",
        str(workflow_id),
        reason=f"workflow exceeded its {kind}_timeout of {float(seconds_):g} s",
        code=TIMED_OUT,
        suppress=True,
    )
    if ended:
        await closing.close_children(hm, namespace, str(workflow_id))
    return "timed out" if ended else "ended"


async def continued(
    hm: HotMesh, namespace: str, data: dict[str, Any], answer: dict[str, Any]
) -> None:
    """An activation answered ``continue_as_new``: arm the next run's timer
    (before the answer is written, so the timer cannot be missed)."""
    state = data.get("state") or {}
    run = state.get(RUN_KEY)
    token = state.get(TOKEN_KEY)
    if not run or not token:
        return
    generation = int((answer.get("data") or {}).get("generation") or 0)
    await arm(hm, namespace, str(data.get("workflowId")), token, "run", run, generation)
