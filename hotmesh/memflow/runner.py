"""Worker callbacks: one workflow activation, one activity call, one system side effect.

A callback receives ``{metadata, data}`` from its worker stream and answers
``{data, status?, code?}``; the built-in graph routes on the code.
"""

from __future__ import annotations

import asyncio
import inspect
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from hotmesh import errors
from hotmesh.clock import SYSTEM, Clock
from hotmesh.engine.payload import json_problem
from hotmesh.errors import DataConversionError
from hotmesh.memflow import asking, attempts, completion, handlers, registry, sticky
from hotmesh.memflow.codec import PayloadCodec, seal, seal_answer, unseal_tree
from hotmesh.memflow.context import (
    ACTIVITY,
    ActivityContext,
    CompleteAsync,
    ContinueAsNew,
    WorkflowContext,
    bind,
    replay_map,
)
from hotmesh.memflow.converter import DEFAULT, DataConverter
from hotmesh.memflow.interceptors import (
    ActivityInboundInterceptor,
    execute,
    wrap_activity,
)
from hotmesh.memflow.proxy import DEFAULT_RETRY
from hotmesh.memflow.signatures import decode_args, encode_args
from hotmesh.telemetry import logs

log = logs.get("hotmesh.memflow")

#: Response codes of an activation.
DONE, SLEEP, GATHER, CHILD, PROXY, CONTINUE, WAIT, FAILED = (
    200,
    588,
    589,
    590,
    591,
    592,
    595,
    598,
)
TRACE_IDS = ("trc", "spn")
_SINGLE = {"proxy": PROXY, "sleep": SLEEP, "child": CHILD, "wait": WAIT}
#: seconds granted to the workflow's cancelled tasks to unwind
CANCEL_WAIT = 1.0


def _failure(exc: BaseException) -> dict[str, Any]:
    kind = type(exc).__name__
    stack = "".join(traceback.format_exception(exc))
    return {"type": kind, "message": str(exc), "stack": stack}


async def _call(fn: Callable[..., Any], args: list[Any]) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    result = fn(*args)
    if inspect.isawaitable(result):
        return await result
    return result


def _json(value: Any) -> Any:
    """``value`` if it is JSON the job can store, else ``TypeError`` (a failure
    the workflow sees, not a worker response the engine refuses)."""
    problem = json_problem(value)  # non-JSON types, NUL, lone surrogates, nesting
    if problem is not None:
        raise TypeError(f"value at {problem[0] or '/'} cannot be stored: {problem[1]}")
    return value


def _when(value: Any) -> datetime | None:
    """A job time from its metadata: ISO text (``sat``) or a stamp (``jc``, ``st``)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if "-" in value:
            return datetime.fromisoformat(value).astimezone(UTC)
        return datetime.strptime(value, "%Y%m%d%H%M%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None


def _context(
    namespace: str,
    data: dict[str, Any],
    query: bool = False,
    converter: DataConverter = DEFAULT,
) -> WorkflowContext:
    state = data.get("state") or {}
    generation = int(data.get("generation") or 0)
    scope = str(data.get("hookId") or "")
    return WorkflowContext(
        workflow_id=str(data.get("workflowId")),
        workflow_name=str(data.get("workflowName")),
        task_queue=str(data.get("taskQueue")),
        namespace=namespace,
        generation=generation,
        parent_workflow_id=data.get("parentWorkflowId"),
        origin_job_id=data.get("originJobId"),
        scope=scope,
        scheduled_at=_when(data.get("scheduledAt")),
        started_at=_when(data.get("startedAt") or data.get("createdAt")),
        state=state,
        replay=replay_map(state, generation, scope),
        query=query,
        converter=converter,
    )


async def _replayed(
    ctx: WorkflowContext, fn: Callable[..., Any], args: list[Any]
) -> asyncio.Task[Any]:
    """Start the workflow function and replay its history, recorded events
    (signals, updates, conditions) each at its point; returns the main task."""
    events = (
        handlers.recorded_events(ctx.state, ctx.generation) if not ctx.scope else []
    )
    if events:
        handlers.of(ctx)
        ctx.gate = int(events[0].get("at", 0))  # before the function runs at all
    task = asyncio.get_running_loop().create_task(
        execute(ctx, _call, fn, args), context=bind(ctx)
    )
    ctx.main = task

    def ended(_t: asyncio.Task[Any]) -> None:
        ctx.progress += 1
        ctx.changed.set()

    task.add_done_callback(ended)
    await ctx.changed.wait()
    await handlers.settle(ctx)
    await handlers.replay(ctx, events)
    return task


async def unwind(ctx: WorkflowContext, task: asyncio.Task[Any]) -> None:
    """End what is still blocked (the activation is over): tasks waiting on a
    durable call, the gate or a condition get ``ActivationEnded``, which user
    code does not catch; anything else is cancelled."""
    ctx.end()
    tasks = [*ctx.tasks, task]
    pending = [t for t in tasks if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=0)  # let them unwind a turn
        await asyncio.sleep(0)
    pending = [t for t in tasks if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.wait(pending, timeout=CANCEL_WAIT)
    for t in tasks:
        if t.done() and not t.cancelled():
            t.exception()  # retrieved: an ended activation's failure is no news


def _unsealing(
    codec: PayloadCodec | None, reader: handlers.Reader | None
) -> handlers.Reader | None:
    """The inbox ``reader`` with its messages' payloads decoded."""
    if codec is None or reader is None:
        return reader
    read = reader

    async def decoded(seq: int) -> list[dict[str, Any]]:
        return list(await unseal_tree(codec, await read(seq)))

    return decoded


async def activate(
    namespace: str,
    message: dict[str, Any],
    reader: handlers.Reader | None = None,
    cancel_told: bool = False,
    clock: Clock = SYSTEM,
    converter: DataConverter = DEFAULT,
    codec: PayloadCodec | None = None,
    cache: sticky.Cache | None = None,
) -> dict[str, Any]:
    """Run the workflow function from the top, replaying recorded results;
    ``reader`` reads the job's inbox for handlers (and, ``cancel_told``, for a
    cancellation of a workflow without handlers); ``clock`` is the worker's.
    With a ``codec``, the job's payloads are decoded first and the answer's
    encoded. With a ``cache``, a workflow suspended there since its last
    activation resumes instead (``sticky``)."""
    if codec is not None:
        data = await unseal_tree(codec, message.get("data") or {})
        message = {**message, "data": data}
    reader = _unsealing(codec, reader)
    answer = await _activate(
        namespace, message, reader, cancel_told, clock, converter, cache
    )
    return await seal_answer(codec, answer)


async def _activate(
    namespace: str,
    message: dict[str, Any],
    reader: handlers.Reader | None,
    cancel_told: bool,
    clock: Clock,
    converter: DataConverter,
    cache: sticky.Cache | None = None,
) -> dict[str, Any]:
    data = message.get("data") or {}
    ctx = _context(namespace, data, converter=converter)
    ctx.clock = clock
    md = message.get("metadata") or {}
    ctx.trace_ids = {k: md[k] for k in TRACE_IDS if k in md}  # workflow.trace()
    name, queue = ctx.workflow_name, ctx.task_queue
    generation = ctx.generation
    fn = registry.workflow(namespace, queue, name)
    if fn is None:
        missing = errors.WorkflowError(
            f"no workflow '{name}' is registered on task queue '{queue}' in this process"
        )
        return _answer(ctx, FAILED, {"error": _failure(missing)}, error=True)
    what = f"workflow '{name}'"
    entry = cache.take(ctx.workflow_id) if cache is not None else None
    if entry is not None and sticky.resume(entry, data, fn):
        assert cache is not None
        cache.hits += 1
        trace_ids = ctx.trace_ids
        ctx, task = entry.ctx, entry.task
        ctx.clock, ctx.trace_ids = clock, trace_ids
        await ctx.changed.wait()  # the resumed call returned; on to the next
        await handlers.settle(ctx)
    else:
        if entry is not None:
            await unwind(entry.ctx, entry.task)  # stale: replay instead
        if cache is not None:
            cache.misses += 1
        try:
            args = decode_args(converter, fn, list(data.get("arguments") or []), what)
        except DataConversionError as bad:
            return _answer(ctx, FAILED, {"error": _failure(bad)}, error=True)
        task = await _replayed(ctx, fn, args)
    await handlers.live(ctx, None if ctx.scope else reader, cancel_told)
    # What this activation asks for is fixed now, whatever the cancelled tasks
    # still do (a user ``except BaseException`` could swallow the cancellation).
    items = sorted(ctx.interruptions, key=lambda i: int(i["index"]))
    finished = task.done()
    failure = ctx.msg.failure if ctx.msg is not None else None
    idle = None if items or finished else handlers.idle_item(ctx)
    if (
        cache is not None
        and cache.size
        and failure is None
        and sticky.keepable(ctx, task)
    ):
        for old in cache.put(sticky.entry_of(ctx, task, fn)):
            await unwind(old.ctx, old.task)  # evicted: the next one replays
        item = items[0]
        return _answer(ctx, _SINGLE[item["type"]], dict(item))
    await unwind(ctx, task)
    if failure is not None:
        return _answer(ctx, FAILED, {"error": _failure(failure)}, error=True)
    if finished and task.cancelled() and ctx.cancelled:
        # the cancellation was not caught: the workflow ends cancelled
        cancelled = asyncio.CancelledError(ctx.cancel_reason or "cancelled")
        return _answer(ctx, FAILED, {"error": _failure(cancelled)}, error=True)
    if finished and not task.cancelled() and ctx.scope:
        return _hook_end(ctx, task)
    if finished and not task.cancelled():
        exc = task.exception()
        if exc is None:
            try:
                result = _json(converter.to_json(task.result(), f"{what} result"))
            except DataConversionError as bad:
                return _answer(ctx, FAILED, {"error": _failure(bad)}, error=True)
            except (TypeError, ValueError) as bad:
                failure = errors.WorkflowError(
                    f"workflow '{name}' returned a value that is not JSON: {bad}"
                )
                return _answer(ctx, FAILED, {"error": _failure(failure)}, error=True)
            return _answer(ctx, DONE, {"done": True, "response": result})
        if isinstance(exc, ContinueAsNew):
            try:
                again = encode_args(converter, fn, exc.args_list, what)
            except DataConversionError as bad:
                return _answer(ctx, FAILED, {"error": _failure(bad)}, error=True)
            return _answer(
                ctx, CONTINUE, {"continueArgs": again, "generation": generation + 1}
            )
        return _answer(ctx, FAILED, {"error": _failure(exc)}, error=True)
    if not items:
        if idle is not None:  # blocked on handlers or conditions only
            return _answer(ctx, WAIT, idle)
        # cancelled from outside: let the stream retry the activation
        raise errors.WorkflowError(f"workflow '{ctx.workflow_id}' was cancelled")
    if len(items) == 1:
        item = items[0]
        return _answer(ctx, _SINGLE[item["type"]], dict(item))
    return _answer(ctx, GATHER, {"items": items})


async def query(
    namespace: str,
    data: dict[str, Any],
    fn: Callable[..., Any],
    name: str,
    args: list[Any],
    update: bool = False,
    reader: handlers.Reader | None = None,
    converter: DataConverter = DEFAULT,
    codec: PayloadCodec | None = None,
) -> Any:
    """Replay a workflow (job ``data``) and answer query ``name`` from its state,
    with the inbox's new messages (``reader``) applied as the next activation
    will; with ``update``, validate update ``name`` instead. Nothing is
    recorded."""
    if codec is not None:
        data = await unseal_tree(codec, data)
    reader = _unsealing(codec, reader)
    fields = {
        "workflowId": data.get("workflowId"),
        "workflowName": data.get("workflowName"),
        "taskQueue": data.get("taskQueue"),
        "parentWorkflowId": data.get("parentWorkflowId"),
        "originJobId": data.get("originJobId"),
        "generation": data.get("generation"),
        "state": data,
    }
    ctx = _context(namespace, fields, query=True, converter=converter)
    what = f"workflow '{ctx.workflow_name}'"
    stored = list(data.get("args") or [])
    task = await _replayed(ctx, fn, decode_args(converter, fn, stored, what))
    await handlers.live(ctx, reader)
    try:
        if update:
            asking.validate(ctx, name, args)
            return None
        return await asking.ask(ctx, name, args)
    finally:
        await unwind(ctx, task)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a replayed failure is the workflow's own


async def replay(
    namespace: str,
    fields: dict[str, Any],
    fn: Callable[..., Any],
    args: list[Any],
    expected: dict[int, dict[str, Any]],
    converter: DataConverter = DEFAULT,
) -> tuple[WorkflowContext, bool, BaseException | None]:
    """Run ``fn`` over a recorded history (``fields["state"]``) as an
    activation would, recording nothing, each call checked against the
    ``expected`` steps (``Replayer``): the context after, whether the
    function ended, and what it raised. The stored ``args`` are decoded as
    ``fn`` declares them (the steps compare as stored)."""
    ctx = _context(namespace, fields, query=True, converter=converter)
    ctx.expected = expected
    what = f"workflow '{ctx.workflow_name}'"
    task = await _replayed(ctx, fn, decode_args(converter, fn, args, what))
    await handlers.live(ctx, None)
    ended = task.done()
    await unwind(ctx, task)
    failure = None
    if ended and not task.cancelled():
        failure = task.exception()
    return ctx, ended, failure


def _hook_end(ctx: WorkflowContext, task: asyncio.Task[Any]) -> dict[str, Any]:
    """A hook function ended: its branch of the job closes; a failure is only logged
    (it must not fail the workflow it ran against)."""
    exc = task.exception()
    data: dict[str, Any] = {"hookDone": True}
    if exc is not None:
        log.warning("hook %s of %s failed: %r", ctx.scope, ctx.workflow_id, exc)
        failure = _failure(exc)
        data["hookError"] = {"type": failure["type"], "message": failure["message"]}
    return _answer(ctx, DONE, data)


def _answer(
    ctx: WorkflowContext, code: int, data: dict[str, Any], error: bool = False
) -> dict[str, Any]:
    if ctx.markers:
        data["markers"] = ctx.markers
    if ctx.search:
        data["search"] = ctx.search
    if error:
        failure = data["error"]
        data.update(message=failure["message"], stack=failure["stack"], code=code)
        data["error"] = {"type": failure["type"], "message": failure["message"]}
        return {"status": "error", "code": code, "data": data}
    return {"code": code, "data": data}


async def run_activity(
    namespace: str,
    topic: str,
    message: dict[str, Any],
    env: attempts.Env | None = None,
    converter: DataConverter = DEFAULT,
    codec: PayloadCodec | None = None,
    chain: ActivityInboundInterceptor | None = None,
) -> dict[str, Any] | None:
    """Run one attempt of a proxied activity (``attempts`` supervises it:
    heartbeats, timeouts); with a ``codec``, its arguments are decoded and its
    result encoded.

    A failed attempt with attempts left answers status ``error``: the engine
    re-publishes the work message after the policy's back-off (durably, the
    policy rides in the message). The last attempt's failure is recorded as
    the marker and raised inside the workflow on replay. None: the activity
    called ``raise_complete_async()`` (``complete_activity`` answers later).
    """
    env = env or attempts.Env()
    payload = (message.get("data") or {}).get("payload") or {}
    if codec is not None:
        payload = await unseal_tree(codec, payload)
    md = message.get("metadata") or {}
    name = str(payload.get("name"))
    marker = str(payload.get("marker"))
    args = list(payload.get("args") or [])
    workflow_id = str(payload.get("workflowId"))
    policy = {**DEFAULT_RETRY, **(payload.get("retry") or {})}
    limits = attempts.limits_of(policy)
    # a claim taken back from a killed worker is an attempt too
    attempt = int(md.get("try") or 0) + max(1, int(message.get("claims") or 1))
    now = env.clock.now().timestamp()
    scheduled = policy.get("scheduled_at")
    fn = registry.activity(namespace, topic, name)
    beats: attempts.Beats | None = None
    retry = False
    try:
        if fn is None:
            raise errors.WorkflowError(
                f"no activity '{name}' is registered for '{topic}' in this process"
            )
        left = attempts.time_left(name, limits, scheduled, now, attempt == 1)
        last = None
        if attempt > 1 and env.rows is not None:
            last = await env.rows.read(namespace, workflow_id, marker)
        beats = attempts.Beats(env, namespace, workflow_id, marker, attempt, limits)
        what = f"activity '{name}'"
        args = decode_args(converter, fn, args, what)
        token = ACTIVITY.set(
            ActivityContext(
                name,
                args,
                workflow_id,
                str(payload.get("workflowName")),
                str(payload.get("taskQueue")),
                attempt,
                activity_id=marker,
                task_token=completion.token(namespace, md, payload, attempt),
                heartbeat_details=list(last[1]) if last else [],
                timeouts=limits,
                scheduled_time=attempts.stamp(scheduled),
                started_time=attempts.stamp(now),
                beats=beats,
            )
        )
        try:
            call = wrap_activity(fn, chain)  # the interceptors, in its context
            value = await attempts.supervise(name, call, args, limits, beats, left)
            result = _json(converter.to_json(value, f"{what} result"))
        finally:
            ACTIVITY.reset(token)
        record: dict[str, Any] = {"data": result, "name": name}
    except CompleteAsync:
        return None  # acked; the activity waits for complete_activity
    except asyncio.CancelledError:
        if beats is None or beats.stop_reason is None or attempts.ours():
            raise
        # stopped at a heartbeat: its workflow was cancelled (or ended)
        cancelled = {"type": "CancelledError", "message": beats.stop_reason}
        record = {"error": cancelled, "name": name, "attempts": attempt}
    except Exception as exc:
        failure = attempts.failure(exc)
        delay = attempts.retry_delay(fn, exc, attempt, policy)
        retry = delay is not None
        if retry and attempts.past_close(limits, scheduled, env.clock, delay):
            retry = False
            failure = attempts.failure(attempts.closed(name, limits, attempt, failure))
        if retry:
            log.info("activity %s attempt %d failed (%s)", name, attempt, exc)
            return {"status": "error", "code": 599, "data": failure}
        record = {"error": failure, "name": name, "attempts": attempt}
    finally:
        if beats is not None:
            await beats.close(flush=retry)
    if codec is not None and "data" in record:
        record = {**record, "data": await seal(codec, record["data"])}
    return {"data": {"markers": {marker: record}}}


SystemOp = Callable[[list[Any]], Awaitable[Any]]


async def run_system(
    ops: dict[str, SystemOp], message: dict[str, Any]
) -> dict[str, Any]:
    """Perform a workflow's side effect (signal, interrupt, emit, hook) once."""
    payload = (message.get("data") or {}).get("payload") or {}
    name = str(payload.get("name"))
    marker = str(payload.get("marker"))
    try:
        op = ops.get(name)
        if op is None:
            raise errors.WorkflowError(f"unknown MemFlow operation '{name}'")
        record: dict[str, Any] = {
            "data": _json(await op(list(payload["args"]))),
            "name": name,
        }
    except Exception as exc:
        failure = _failure(exc)
        failure.pop("stack")
        record = {"error": failure, "name": name}
    return {"data": {"markers": {marker: record}}}
