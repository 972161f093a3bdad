"""The execution context of one workflow activation, and the replay bookkeeping.

Each activation runs the workflow function from the top. Every durable call
takes the next *replay index*; its result, once the engine has produced it, is
a job-data marker ``-<kind>[$<generation>]-<index>-``. A call whose marker
exists returns the recorded value (replay); any other registers an
*interruption* and suspends, and the activation answers the engine with what
to do.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotmesh import errors
from hotmesh.clock import SYSTEM, Clock
from hotmesh.memflow.converter import DEFAULT, DataConverter

_MARKER = re.compile(r"^-([a-z]+)(?:\$(\d+))?(?:@([A-Za-z0-9]+))?-(\d+)-$")

#: marker kinds that a call of another kind may not replace (same index)
KINDS = (
    "proxy",
    "sleep",
    "wait",
    "join",
    "child",
    "start",
    "signal",
    "emit",
    "interrupt",
    "hook",
    "now",
    "search",
    "random",
    "trace",
    "entity",
)


def marker_name(kind: str, generation: int, index: int, scope: str = "") -> str:
    """``-proxy-3-``; ``-proxy$2-3-`` in the second continued generation;
    ``-proxy@<hook id>-3-`` in a hook function."""
    gen = f"${generation}" if generation else ""
    at = f"@{scope}" if scope else ""
    return f"-{kind}{gen}{at}-{index}-"


def replay_map(
    state: dict[str, Any], generation: int, scope: str = ""
) -> dict[int, tuple[str, Any]]:
    """The recorded results of this generation (and hook scope), by replay index."""
    out: dict[int, tuple[str, Any]] = {}
    for key, value in state.items():
        if not key.startswith("-"):
            continue
        match = _MARKER.match(key)
        if match is None:
            continue
        kind, gen, at, index = match.groups()
        if int(gen or 0) == generation and (at or "") == scope:
            out[int(index)] = (kind, value)
    return out


class ActivationEnded(BaseException):
    """Raised where the workflow's tasks wait when an activation is over: not a
    ``CancelledError`` (which means a workflow cancellation) nor an
    ``Exception``, so user ``except`` blocks pass it; ``finally`` blocks run,
    and any durable call they make raises it again at once."""


class ContinueAsNew(BaseException):
    """Raised by ``continue_as_new``; a BaseException so user ``except`` blocks pass it."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__("continue as new")
        self.args_list = args


@dataclass
class WorkflowContext:
    """Mutable state of one activation (shared by every task the workflow spawns)."""

    workflow_id: str
    workflow_name: str
    task_queue: str
    namespace: str
    generation: int = 0
    parent_workflow_id: str | None = None
    origin_job_id: str | None = None
    #: the hook id when this activation runs a hook function
    scope: str = ""
    #: when the workflow was to start (a schedule tick, a delayed start), if so
    scheduled_at: datetime | None = None
    #: when it actually started (a delayed start's start, else its creation)
    started_at: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)
    replay: dict[int, tuple[str, Any]] = field(default_factory=dict)
    counter: int = 0
    interruptions: list[dict[str, Any]] = field(default_factory=list)
    #: markers recorded inline with this activation's answer (``now()``, ``search``)
    markers: dict[str, Any] = field(default_factory=dict)
    #: search fields (``_name``) written with this activation's answer
    search: dict[str, Any] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: tasks suspended at a durable call (cancelled when the activation ends)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    #: handlers, conditions and the events that fed them (``handlers.py``)
    msg: Any = None
    #: replaying a recorded event: calls with a higher index wait here
    gate: int | None = None
    gated: list[asyncio.Future[None]] = field(default_factory=list)
    #: bumped by everything that moves the workflow (suspend, gate, condition)
    progress: int = 0
    #: answering a query: nothing this replay does is recorded
    query: bool = False
    #: the worker's data converter (arguments, results, handler values)
    converter: DataConverter = DEFAULT
    #: the job's W3C trace and span ids (``trc``/``spn``), when it is traced
    trace_ids: dict[str, Any] = field(default_factory=dict)
    #: the workflow function's task (what a cancellation cancels)
    main: asyncio.Task[Any] | None = None
    #: ``shielded()`` blocks open; a cancellation waits for the last to close
    shield: int = 0
    #: a cancellation was applied (``cancel_reason``); still held by a shield
    cancelled: bool = False
    cancel_pending: bool = False
    cancel_reason: str | None = None
    #: the activation is over: cancelled tasks keep their interruptions
    ending: bool = False
    #: every future a workflow task waits on (failed with ActivationEnded at the end)
    waits: list[asyncio.Future[Any]] = field(default_factory=list)
    #: the entity document as this activation rebuilt it (``entity.py``)
    entity: Any = None
    #: the worker's clock (a test's time-skipping clock): ``now()``, deadlines
    clock: Clock = SYSTEM
    #: replaying a recorded history (``Replayer``): each step's recorded call
    #: (``{"kind", "name", "args"...}``) by replay index, checked by ``compare``
    expected: dict[int, dict[str, Any]] | None = None
    #: this activation's workflow outbound interceptor chain, if any
    outbound: Any = None
    #: and its inbound chain's head (the handlers' hooks)
    inbound: Any = None
    #: the first divergence from the recorded history (raised in the workflow,
    #: where user code could catch it)
    diverged: errors.NondeterminismError | None = None
    #: the future the last suspended call waits on (what ``sticky`` resolves)
    parked: asyncio.Future[Any] | None = None

    def time(self) -> float:
        """The worker clock's time, in seconds since the epoch."""
        return self.clock.now().timestamp()

    def wait_on(self) -> asyncio.Future[Any]:
        """A future for a workflow task to wait on (``ActivationEnded`` once over)."""
        if self.ending:
            raise ActivationEnded()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waits.append(fut)
        return fut

    def end(self) -> None:
        """The activation is over: wake every waiting task with ``ActivationEnded``."""
        self.ending = True
        for fut in self.waits:
            if not fut.done():
                fut.set_exception(ActivationEnded())

    def next_index(self) -> int:
        """Take the next replay index."""
        self.counter += 1
        return self.counter

    async def admit(self, index: int) -> None:
        """Hold a durable call while a recorded event before it is replayed: the
        event was applied when this call had not returned yet."""
        while self.gate is not None and index > self.gate:
            fut: asyncio.Future[None] = self.wait_on()
            self.gated.append(fut)
            self.progress += 1
            self.changed.set()
            await fut

    def open_gate(self, gate: int | None) -> None:
        """Move the gate; held calls check it again (in the order they came)."""
        self.gate = gate
        held, self.gated = self.gated, []
        for fut in held:
            if not fut.done():
                fut.set_result(None)

    def marker(self, kind: str, index: int) -> str:
        """This generation's marker name for ``kind`` at ``index``."""
        return marker_name(kind, self.generation, index, self.scope)

    def recorded(self, index: int, kind: str, label: str) -> Any:
        """The recorded value at ``index`` (None when unrecorded); checks determinism."""
        entry = self.replay.get(index)
        if entry is None:
            return None
        have, value = entry
        same = have == kind
        if same and kind == "proxy" and isinstance(value, dict):
            same = value.get("name") in (None, label)
        if not same:
            recorded = have
            if isinstance(value, dict) and value.get("name"):
                recorded = f"{have} '{value['name']}'"
            raise self.diverge(
                index,
                f"the history recorded {recorded}, but the code now calls "
                f"{kind} '{label}'",
            )
        return value if value is not None else {}

    def diverge(self, index: int, what: str) -> errors.NondeterminismError:
        """The error of a divergence at step ``index`` (the first one is kept)."""
        err = errors.NondeterminismError(
            f"workflow '{self.workflow_id}' step {index}: {what}"
        )
        if self.diverged is None:
            self.diverged = err
        return err

    def compare(self, index: int, kind: str, name: str, call: dict[str, Any]) -> None:
        """Replaying a recorded history: ``call``'s details (arguments, a
        duration) must be those recorded for step ``index``."""
        if self.expected is None:
            return
        step = self.expected.get(index)
        if step is None:
            return  # not recorded: the replayer judges it once the run is over
        for key, value in call.items():
            if key not in step:
                continue
            now = plain(value)
            if now is UNCOMPARABLE:
                continue  # not JSON: the caller passes what it records (encoded)
            if now != step[key]:
                raise self.diverge(
                    index,
                    f"the history recorded {kind} '{name}' with {key} "
                    f"{_show(step[key])}, but the code now passes {_show(now)}",
                )

    async def suspend(self, item: dict[str, Any]) -> Any:
        """Register an interruption and wait: the activation ends instead, or,
        when the workflow stays cached (``sticky``), the next activation
        resumes it here with the recorded value (``{}`` for a null one)."""
        fut = self.wait_on()
        self.interruptions.append(item)
        self.progress += 1
        task = asyncio.current_task()
        if task is not None:
            self.tasks.append(task)
        self.parked = fut
        self.changed.set()
        try:
            return await fut
        except asyncio.CancelledError:
            if not self.ending and item in self.interruptions:
                # a workflow cancellation: this call is abandoned, not run
                self.interruptions.remove(item)
            raise

    def cancel_main(self, reason: str | None) -> None:
        """Cancel the workflow function at its await point, or when the last
        ``shielded()`` block closes."""
        if self.cancelled or self.main is None:
            return
        if self.main.done():
            if self.main.cancelled():
                # it ended with the CancelledError of an activity that learned
                # of this cancellation at its heartbeat: the workflow is cancelled
                self.cancelled, self.cancel_reason = True, reason
            return
        self.cancelled, self.cancel_reason = True, reason
        if self.shield:
            self.cancel_pending = True
        else:
            self.main.cancel(reason)
        self.progress += 1


#: what ``plain`` gives for a value that is not JSON (nothing to compare)
UNCOMPARABLE = object()


def plain(value: Any) -> Any:
    """``value`` as the history stores it (JSON: tuples are lists), or
    ``UNCOMPARABLE``."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return UNCOMPARABLE


def _show(value: Any) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 200 else text[:197] + "..."


_CURRENT: contextvars.ContextVar[WorkflowContext] = contextvars.ContextVar(
    "memflow_workflow"
)


def current() -> WorkflowContext:
    """The running workflow's context (``WorkflowError`` outside a workflow)."""
    try:
        return _CURRENT.get()
    except LookupError:
        raise errors.WorkflowError(
            "this MemFlow function can only be called inside a workflow function"
        ) from None


def bind(ctx: WorkflowContext) -> contextvars.Context:
    """A context copy in which ``current()`` is ``ctx`` (for the workflow's task)."""
    copy = contextvars.copy_context()
    copy.run(_CURRENT.set, ctx)
    return copy


@dataclass
class ActivityContext:
    """What ``MemFlow.activity.get_context()`` returns inside an activity
    (``activity.info()`` gives the Temporal-shaped view of it)."""

    activity_name: str
    arguments: list[Any]
    workflow_id: str
    workflow_name: str
    task_queue: str
    attempt: int = 1
    #: the activity's place in its workflow's history (its marker)
    activity_id: str = ""
    #: what ``complete_activity`` / ``fail_activity`` need to answer this activity
    task_token: bytes = b""
    #: the details of the last heartbeat of an earlier attempt
    heartbeat_details: list[Any] = field(default_factory=list)
    #: the ``proxy_activities`` timeouts (seconds), where set
    timeouts: dict[str, float] = field(default_factory=dict)
    scheduled_time: datetime | None = None
    started_time: datetime | None = None
    #: this attempt's heartbeats (``attempts.Beats``)
    beats: Any = None


class CompleteAsync(BaseException):
    """Raised by ``activity.raise_complete_async()``: the attempt returns
    without an answer, which ``complete_activity`` / ``fail_activity`` give
    later. A BaseException, so an activity's ``except Exception`` passes it."""


ACTIVITY: contextvars.ContextVar[ActivityContext] = contextvars.ContextVar(
    "memflow_activity"
)
