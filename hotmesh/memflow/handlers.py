"""Signal, query and update handlers, ``wait_condition``, and the events that feed them.

Signals and updates for handlers wait in the job's inbox (``job_messages``)
in arrival order. An activation of a workflow that has registered a handler
or waits on a condition takes the new ones, in order, and applies each when
every task of the workflow is blocked: the handler runs, then the pending
conditions are checked. Each application is recorded as an *event*
(``-evt:<generation>:<n>-``) holding the message and the *point* it was
applied at: ``at``, the highest replay index that had returned by then.
A replay holds every durable call above ``at`` until the event has been
applied again, so handlers see the same state in the same order, whether
the replay answers a query, a later activation, or another process after a
crash. A condition that comes true, or times out, other than right after a
message is recorded the same way (``cond`` / ``timeout`` events).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hotmesh import errors
from hotmesh.durations import seconds
from hotmesh.engine.payload import json_problem
from hotmesh.memflow.context import ActivationEnded, WorkflowContext, bind, current
from hotmesh.memflow.interceptors import handler
from hotmesh.memflow.signatures import decode_args

#: job data: names of the signal handlers registered (the client then skips
#: the ``wait_for`` copy of such a signal)
HANDLERS_KEY = "-handlers-"
#: job data: the last inbox message an activation took
SEQ_KEY = "-inbox-"
#: job data: ``[generation, point]`` where the last activation left the workflow
FRONT_KEY = "-front-"
#: job data: the idle wait's marker (not replayed: a wake carries nothing)
IDLE_MARKER = "-idle-"
#: after the first event of an activation, at most this many more are
#: recorded before it answers (a condition loop cannot spin for ever)
MAX_EVENTS = 10_000
#: settling ends once this many loop turns pass with no task moving: sibling
#: branches of an ``asyncio.gather`` (each its own task, nested gathers one
#: turn deeper) reach their durable calls meanwhile
QUIET_TURNS = 3
MAX_TURNS = 10_000

Reader = Callable[[int], Awaitable[list[dict[str, Any]]]]


def event_key(generation: int, n: int) -> str:
    """``-evt:<generation>:<n>-``: the n-th event of a generation."""
    return f"-evt:{generation}:{n}-"


def update_key(update_id: str) -> str:
    """``-upd:<id>-``: an update's outcome, ``{data}`` or ``{error}``."""
    return f"-upd:{update_id}-"


def cond_key(generation: int, cid: int) -> str:
    """``-cond:<generation>:<id>-``: a timed condition's deadline (epoch seconds)."""
    return f"-cond:{generation}:{cid}-"


def inbox_key(workflow_id: str) -> str:
    """The wait key an idle workflow listens on for new messages."""
    return f"{workflow_id}:$inbox"


def recorded_events(state: dict[str, Any], generation: int) -> list[dict[str, Any]]:
    """This generation's events, in the order they were applied."""
    prefix = f"-evt:{generation}:"
    found = []
    for key, value in state.items():
        if key.startswith(prefix) and key.endswith("-") and isinstance(value, dict):
            try:
                found.append((int(key[len(prefix) : -1]), value))
            except ValueError:
                continue
    return [value for _n, value in sorted(found, key=lambda item: item[0])]


@dataclass
class Condition:
    """A ``wait_condition`` that has not held yet."""

    cid: int
    predicate: Callable[[], Any]
    fut: asyncio.Future[None]
    deadline: float | None


@dataclass
class Handlers:
    """The handlers and conditions of one activation (``ctx.msg``)."""

    signals: dict[str, Callable[..., Any]] = field(default_factory=dict)
    queries: dict[str, Callable[..., Any]] = field(default_factory=dict)
    updates: dict[str, tuple[Callable[..., Any], Callable[..., Any] | None]] = field(
        default_factory=dict
    )
    #: signals applied before a handler for their name existed
    buffered: list[dict[str, Any]] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    cond_count: int = 0
    event_count: int = 0
    #: a signal handler raised: the workflow fails with it
    failure: BaseException | None = None
    updates_seen: set[str] = field(default_factory=set)


def of(ctx: WorkflowContext) -> Handlers:
    """The handler registry of this activation (created on first use)."""
    if ctx.scope:
        raise errors.WorkflowError(
            "handlers and wait_condition belong to the workflow function, "
            "not to a hook function"
        )
    if ctx.msg is None:
        ctx.msg = Handlers()
    assert isinstance(ctx.msg, Handlers)
    return ctx.msg


def _moved(ctx: WorkflowContext) -> None:
    ctx.progress += 1
    ctx.changed.set()


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise errors.ConfigError(f"{what}: the handler name must be a non-empty str")
    return name


def _check_fn(fn: Any, what: str) -> None:
    if fn is not None and not callable(fn):
        raise errors.ConfigError(f"{what}: the handler must be callable, not {fn!r}")


# -- the workflow side -------------------------------------------------------
def set_signal_handler(name: str, fn: Callable[..., Any] | None) -> None:
    """Run ``fn(*args)`` for each ``handle.signal(name, *args)``, in arrival order.

    Signals that came before the handler existed are delivered now, in order.
    ``fn`` may be ``async`` (it may then call activities); ``None`` removes it.
    """
    ctx = current()
    name = _check_name(name, "set_signal_handler")
    _check_fn(fn, "set_signal_handler")
    reg = of(ctx)
    if fn is None:
        reg.signals.pop(name, None)
    else:
        reg.signals[name] = fn
        waiting, reg.buffered = reg.buffered, []
        for event in waiting:
            if event.get("name") == name:
                _run_signal(ctx, reg, fn, event)
            else:
                reg.buffered.append(event)
    _moved(ctx)


def set_query_handler(name: str, fn: Callable[..., Any] | None) -> None:
    """Answer ``handle.query(name, *args)`` with ``fn(*args)``: a plain function
    reading the workflow's state (it runs on a replay; what it changes is lost)."""
    ctx = current()
    name = _check_name(name, "set_query_handler")
    _check_fn(fn, "set_query_handler")
    reg = of(ctx)
    if fn is None:
        reg.queries.pop(name, None)
    else:
        reg.queries[name] = fn
    _moved(ctx)


def set_update_handler(
    name: str,
    fn: Callable[..., Any] | None,
    validator: Callable[..., Any] | None = None,
) -> None:
    """Apply ``handle.execute_update(name, *args)`` with ``fn(*args)``; its return
    value (or error) goes back to the caller. ``validator(*args)`` (a plain
    function) may raise to reject the update before the handler runs."""
    ctx = current()
    name = _check_name(name, "set_update_handler")
    _check_fn(fn, "set_update_handler")
    _check_fn(validator, "set_update_handler validator")
    reg = of(ctx)
    if fn is None:
        reg.updates.pop(name, None)
    else:
        reg.updates[name] = (fn, validator)
    _moved(ctx)


async def wait_condition(
    predicate: Callable[[], Any], timeout: float | int | str | None = None
) -> None:
    """Wait until ``predicate()`` is true; it is checked now and after each
    signal or update handler runs (and when the workflow is otherwise blocked).

    With ``timeout``, raises ``ConditionTimeoutError`` (a ``TimeoutError``)
    when it has not held by then.
    """
    ctx = current()
    reg = of(ctx)
    if predicate():
        return
    cid = reg.cond_count
    reg.cond_count += 1
    deadline = None
    if timeout is not None:
        key = cond_key(ctx.generation, cid)
        recorded = ctx.state.get(key)
        if isinstance(recorded, dict) and "deadline" in recorded:
            deadline = float(recorded["deadline"])
        else:
            deadline = ctx.time() + seconds(timeout)
            ctx.markers[key] = {"deadline": deadline}
    fut: asyncio.Future[None] = ctx.wait_on()
    cond = Condition(cid, predicate, fut, deadline)
    reg.conditions.append(cond)
    task = asyncio.current_task()
    if task is not None:
        ctx.tasks.append(task)
    _moved(ctx)
    try:
        await fut
    finally:
        if cond in reg.conditions:
            reg.conditions.remove(cond)


# -- applying events -----------------------------------------------------------
def _outcome(exc: BaseException, rejected: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"error": {"type": type(exc).__name__, "message": str(exc)}}
    if rejected:
        out["rejected"] = True
    return out


def _record_update(
    ctx: WorkflowContext, update_id: str, outcome: dict[str, Any]
) -> None:
    key = update_key(update_id)
    if not ctx.query and key not in ctx.state:
        ctx.markers[key] = outcome


def _value(ctx: WorkflowContext, update_id: str, value: Any, name: str) -> None:
    try:
        value = ctx.converter.to_json(value, f"update '{name}' result")
    except errors.DataConversionError as unconverted:
        _record_update(ctx, update_id, _outcome(unconverted))
        return
    problem = json_problem(value)
    if problem is not None:
        bad = TypeError(f"value at {problem[0] or '/'} cannot be stored: {problem[1]}")
        _record_update(ctx, update_id, _outcome(bad))
    else:
        _record_update(ctx, update_id, {"data": value})


def _spawn(ctx: WorkflowContext, fn: Callable[..., Any], args: list[Any]) -> Any:
    """Call a handler in the workflow's context: a coroutine becomes a task."""
    if inspect.iscoroutinefunction(fn):
        task = asyncio.get_running_loop().create_task(fn(*args), context=bind(ctx))
        ctx.tasks.append(task)
        task.add_done_callback(lambda _t: _moved(ctx))
        return task
    return bind(ctx).run(fn, *args)


def _run_signal(
    ctx: WorkflowContext, reg: Handlers, fn: Callable[..., Any], event: dict[str, Any]
) -> None:
    what = f"signal '{event.get('name')}'"
    try:
        args = decode_args(ctx.converter, fn, list(event.get("args") or []), what)
        fn = handler(ctx, "signal", str(event.get("name")), fn)
        result = _spawn(ctx, fn, args)
    except Exception as exc:
        reg.failure = reg.failure or exc
        return
    if isinstance(result, asyncio.Task):

        def done(task: asyncio.Task[Any]) -> None:
            if task.cancelled() or isinstance(task.exception(), ActivationEnded):
                return  # the activation ended first: a later one goes on
            if task.exception() is not None:
                reg.failure = reg.failure or task.exception()

        result.add_done_callback(done)


def _run_update(ctx: WorkflowContext, reg: Handlers, event: dict[str, Any]) -> None:
    update_id = str(event.get("id"))
    if update_id in reg.updates_seen:
        return  # the inbox refuses a second copy; an older history may hold one
    reg.updates_seen.add(update_id)
    name = str(event.get("name"))
    args = list(event.get("args") or [])
    entry = reg.updates.get(name)
    if entry is None:
        unknown = errors.UnknownHandlerError(
            ctx.workflow_id, "update", name, list(reg.updates)
        )
        _record_update(ctx, update_id, _outcome(unknown, rejected=True))
        return
    fn, validator = entry
    try:
        args = decode_args(ctx.converter, fn, args, f"update '{name}'")
    except errors.DataConversionError as bad:
        _record_update(ctx, update_id, _outcome(bad, rejected=True))
        return
    if validator is not None:
        try:
            bind(ctx).run(validator, *args)
        except Exception as exc:
            _record_update(ctx, update_id, _outcome(exc, rejected=True))
            return
    try:
        result = _spawn(ctx, handler(ctx, "update", name, fn, update_id), args)
    except Exception as exc:
        _record_update(ctx, update_id, _outcome(exc))
        return
    if not isinstance(result, asyncio.Task):
        _value(ctx, update_id, result, name)
        return

    def done(task: asyncio.Task[Any]) -> None:
        if task.cancelled() or isinstance(task.exception(), ActivationEnded):
            return  # the activation ended first: a later one finishes it
        exc = task.exception()
        if exc is not None:
            _record_update(ctx, update_id, _outcome(exc))
        else:
            _value(ctx, update_id, task.result(), name)

    result.add_done_callback(done)


def apply(ctx: WorkflowContext, event: dict[str, Any]) -> None:
    """Apply one event (a message, or a condition's end) to the workflow."""
    reg = of(ctx)
    if "cond" in event or "timeout" in event:
        cid = int(event.get("cond", event.get("timeout", -1)))
        for cond in reg.conditions:
            if cond.cid == cid and not cond.fut.done():
                if "cond" in event:
                    cond.fut.set_result(None)
                else:
                    cond.fut.set_exception(
                        errors.ConditionTimeoutError("wait_condition timed out")
                    )
                reg.conditions.remove(cond)
                break
        _moved(ctx)
        return
    if event.get("kind") == "cancel":
        reason = (event.get("args") or [None])[0]
        ctx.cancel_main(None if reason is None else str(reason))
    elif event.get("kind") == "update":
        _run_update(ctx, reg, event)
    else:
        fn = reg.signals.get(str(event.get("name")))
        if fn is None:
            reg.buffered.append(event)
        else:
            _run_signal(ctx, reg, fn, event)
    _moved(ctx)


def _first_true(ctx: WorkflowContext, reg: Handlers) -> Condition | None:
    for cond in list(reg.conditions):
        if cond.fut.done():
            continue
        try:
            held = bool(bind(ctx).run(cond.predicate))
        except Exception as exc:
            cond.fut.set_exception(exc)
            reg.conditions.remove(cond)
            return cond
        if held:
            cond.fut.set_result(None)
            reg.conditions.remove(cond)
            return cond
    return None


async def settle(ctx: WorkflowContext) -> None:
    """Run the workflow's tasks until nothing moves for a few loop turns: every
    task is blocked on a durable call, the gate, a condition, or has ended."""
    seen, quiet, turns = ctx.progress, 0, 0
    while quiet < QUIET_TURNS and turns < MAX_TURNS:
        await asyncio.sleep(0)
        turns += 1
        if ctx.progress == seen:
            quiet += 1
        else:
            seen, quiet = ctx.progress, 0


async def _after_message(ctx: WorkflowContext) -> None:
    """After a handler: settle, then wake each condition that now holds."""
    await settle(ctx)
    reg = of(ctx)
    while _first_true(ctx, reg) is not None:
        await settle(ctx)


def frontier(ctx: WorkflowContext) -> int:
    """The point of an event applied now: the gate while one holds calls, else
    the replay index below every call still waiting for its result."""
    if ctx.gate is not None:
        return ctx.gate
    pending = [int(item["index"]) for item in ctx.interruptions]
    return min(pending) - 1 if pending else ctx.counter


async def replay(ctx: WorkflowContext, events: list[dict[str, Any]]) -> None:
    """Apply recorded events, each at its point (``live`` opens the gate)."""
    if events:
        reg = of(ctx)
        reg.event_count = len(events)
    for event in events:
        ctx.open_gate(max(int(event.get("at", 0)), ctx.gate or 0))
        await settle(ctx)
        apply(ctx, event)
        if "cond" in event or "timeout" in event:
            await settle(ctx)
        else:
            await _after_message(ctx)


def _record(ctx: WorkflowContext, reg: Handlers, event: dict[str, Any]) -> None:
    if not ctx.query:
        ctx.markers[event_key(ctx.generation, reg.event_count)] = event
    reg.event_count += 1


async def _take(
    ctx: WorkflowContext,
    reader: Reader,
    front: int | None,
    messages: list[dict[str, Any]] | None = None,
) -> None:
    """Apply the inbox's new messages in arrival order, each recorded with its
    point (``front``, or where the workflow stands when it is applied)."""
    reg = of(ctx)
    last = int(ctx.state.get(SEQ_KEY) or 0)
    if messages is None:
        messages = await reader(last)
    for message in messages:
        event = {
            "at": frontier(ctx) if front is None else front,
            "seq": int(message["seq"]),
            "kind": str(message["kind"]),
            "name": str(message["name"]),
            "args": list(message.get("args") or []),
        }
        if message.get("msg_id") is not None:
            event["id"] = str(message["msg_id"])
        _record(ctx, reg, event)
        apply(ctx, event)
        await _after_message(ctx)
        last = int(message["seq"])
    if not ctx.query and last != int(ctx.state.get(SEQ_KEY) or 0):
        ctx.markers[SEQ_KEY] = last


def _front(ctx: WorkflowContext) -> int | None:
    """Where the previous activation left the workflow (this generation)."""
    value = ctx.state.get(FRONT_KEY)
    if isinstance(value, list) and len(value) == 2 and value[0] == ctx.generation:
        front = int(value[1])
        if front >= (ctx.gate or 0):
            return front
    return None


async def live(
    ctx: WorkflowContext, reader: Reader | None, cancel_told: bool = False
) -> None:
    """After the recorded events: apply new messages (where the previous
    activation stopped, before the results that came since: a signal sent
    before an activity finished is seen before its result), let every call
    through, then record the conditions that hold and those whose time ran
    out. A query does the same and records nothing (nor times out)."""
    front = _front(ctx) if ctx.msg is not None else None
    taken = False
    if reader is not None and front is not None:
        ctx.open_gate(front)
        await settle(ctx)
        await _take(ctx, reader, front)
        taken = True
    ctx.open_gate(None)
    await settle(ctx)
    if ctx.msg is None:
        if reader is None or ctx.query or not cancel_told:
            return
        # no handler, no condition: only a cancellation concerns it
        messages = await reader(int(ctx.state.get(SEQ_KEY) or 0))
        if not any(m.get("kind") == "cancel" for m in messages):
            return
        await _take(ctx, reader, None, messages)
        taken = True
    reg = of(ctx)
    if reader is not None and not taken:
        await _take(ctx, reader, None)
    for _ in range(MAX_EVENTS):
        at = frontier(ctx)
        cond = _first_true(ctx, reg)
        if cond is not None:
            _record(ctx, reg, {"at": at, "cond": cond.cid})
        else:
            now = ctx.time()
            due = [c for c in reg.conditions if c.deadline is not None]
            due = [c for c in due if c.deadline is not None and c.deadline <= now]
            if not due or ctx.query:
                break
            timeout: dict[str, Any] = {"at": at, "timeout": due[0].cid}
            _record(ctx, reg, timeout)
            apply(ctx, timeout)
        await settle(ctx)
    if not ctx.query:
        ctx.markers[FRONT_KEY] = [ctx.generation, frontier(ctx)]
        if ctx.state.get(HANDLERS_KEY) != sorted(reg.signals):
            ctx.markers[HANDLERS_KEY] = sorted(reg.signals)


def idle_item(ctx: WorkflowContext) -> dict[str, Any] | None:
    """What a workflow blocked only on handlers or conditions waits for: a new
    message (its inbox key), or its nearest condition deadline."""
    if ctx.msg is None or ctx.query:
        return None
    reg = of(ctx)
    wait: dict[str, Any] = {"key": inbox_key(ctx.workflow_id)}
    deadlines = [c.deadline for c in reg.conditions if c.deadline is not None]
    if deadlines:
        # the timer may fire a little early by this process's clock
        wait["timeout"] = max(min(deadlines) - ctx.time(), 0.0) + 0.05
    return {
        "type": "wait",
        "kind": "idle",
        "index": 0,
        "marker": IDLE_MARKER,
        "wait": wait,
    }


class shielded:
    """``async with wf.shielded():`` a cancellation that arrives inside waits
    until the block ends, so cleanup may call activities and sleep."""

    async def __aenter__(self) -> None:
        current().shield += 1

    async def __aexit__(self, *exc: object) -> None:
        ctx = current()
        ctx.shield -= 1
        if ctx.shield == 0 and ctx.cancel_pending and ctx.main is not None:
            ctx.cancel_pending = False
            ctx.main.cancel(ctx.cancel_reason)
