"""Inside an activity: ``heartbeat``, ``info``, ``raise_complete_async``.

``from hotmesh.memflow import activity`` (or ``MemFlow.activity``), as
Temporal's ``temporalio.activity``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from hotmesh import errors
from hotmesh.memflow.context import ACTIVITY, ActivityContext, CompleteAsync


@dataclass(frozen=True)
class Info:
    """``activity.info()``: the running attempt."""

    #: the activity's place in its workflow's history (stable across attempts)
    activity_id: str
    #: the activity's name
    activity_type: str
    #: 1 for the first attempt; a retry, or a claim taken back from a killed
    #: worker, adds one
    attempt: int
    #: what the last heartbeat of an earlier attempt passed (empty if none)
    heartbeat_details: tuple[Any, ...]
    task_queue: str
    #: for ``client.complete_activity`` / ``fail_activity`` (``raise_complete_async``)
    task_token: bytes
    workflow_id: str
    workflow_type: str
    heartbeat_timeout: float | None
    start_to_close_timeout: float | None
    schedule_to_close_timeout: float | None
    #: when the workflow scheduled the activity (with a schedule timeout set)
    scheduled_time: datetime | None
    started_time: datetime | None


def get_context() -> ActivityContext:
    """Inside an activity: its name, arguments, workflow and attempt."""
    try:
        return ACTIVITY.get()
    except LookupError:
        raise errors.WorkflowError(
            "hotmesh.memflow.activity works only inside a MemFlow activity"
        ) from None


getContext = get_context


def info() -> Info:
    """The running attempt: ids, attempt number, heartbeat details, token."""
    ctx = get_context()
    return Info(
        activity_id=ctx.activity_id,
        activity_type=ctx.activity_name,
        attempt=ctx.attempt,
        heartbeat_details=tuple(ctx.heartbeat_details),
        task_queue=ctx.task_queue,
        task_token=ctx.task_token,
        workflow_id=ctx.workflow_id,
        workflow_type=ctx.workflow_name,
        heartbeat_timeout=ctx.timeouts.get("heartbeat_timeout"),
        start_to_close_timeout=ctx.timeouts.get("start_to_close_timeout"),
        schedule_to_close_timeout=ctx.timeouts.get("schedule_to_close_timeout"),
        scheduled_time=ctx.scheduled_time,
        started_time=ctx.started_time,
    )


def heartbeat(*details: Any) -> None:
    """Say the activity is alive, with progress ``details`` (JSON values) that
    a later attempt reads as ``info().heartbeat_details``.

    Cheap to call often: the details are written at most once a second (the
    latest win; see ``hotmesh.memflow.attempts``). Raises
    ``asyncio.CancelledError`` once the workflow has been cancelled (or has
    ended); a coroutine activity is also cancelled at its await point then.
    Callable from a plain (threaded) activity too.
    """
    ctx = get_context()
    if ctx.beats is not None:
        ctx.beats.beat(list(details))


def raise_complete_async() -> NoReturn:
    """End this attempt without an answer: ``client.complete_activity(token,
    result)`` or ``fail_activity(token, error)``, from any process, gives it
    (``info().task_token``). Raise it, do not catch it."""
    get_context()  # outside an activity: a clear error
    raise CompleteAsync()
