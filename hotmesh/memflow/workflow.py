"""Functions called inside a workflow function (``MemFlow.workflow.*``).

Every durable call takes a replay index: replayed, it returns the recorded
result at once; new, it suspends the workflow and the activation tells the
engine what to run (see ``hotmesh.memflow.context``)."""

from __future__ import annotations

import random as _random
import uuid as _uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from hotmesh import errors, telemetry
from hotmesh.durations import seconds
from hotmesh.engine.options import check_keys
from hotmesh.memflow import closing
from hotmesh.memflow.classes import defn as defn
from hotmesh.memflow.classes import query as query
from hotmesh.memflow.classes import run as run
from hotmesh.memflow.classes import signal_handler, workflow_function
from hotmesh.memflow.classes import update as update
from hotmesh.memflow.context import (
    ActivationEnded,
    ContinueAsNew,
    WorkflowContext,
    current,
)
from hotmesh.memflow.entity import entity as entity
from hotmesh.memflow.handlers import (
    set_query_handler as set_query_handler,
)
from hotmesh.memflow.handlers import (
    set_signal_handler as set_signal_handler,
)
from hotmesh.memflow.handlers import (
    set_update_handler as set_update_handler,
)
from hotmesh.memflow.handlers import (
    shielded as shielded,
)
from hotmesh.memflow.handlers import (
    wait_condition as wait_condition,
)
from hotmesh.memflow.interceptors import outbound
from hotmesh.memflow.proxy import (
    DEFAULT_RETRY as DEFAULT_RETRY,
)
from hotmesh.memflow.proxy import (
    SYSTEM_RETRY,
    _error_from,
    _proxy,
    system_topic,
)
from hotmesh.memflow.proxy import (
    activity_topic as activity_topic,
)
from hotmesh.memflow.proxy import (
    make_policy as make_policy,
)
from hotmesh.memflow.proxy import (
    proxy_activities as proxy_activities,
)
from hotmesh.memflow.search import Search as Search
from hotmesh.memflow.search import enrich as enrich
from hotmesh.memflow.search import search as search
from hotmesh.memflow.signatures import decode_result, encode_args


@outbound("sleep")
async def sleep_for(duration: float | int | str) -> float:
    """Sleep durably (a timer in the database, no process waiting); returns seconds."""
    ctx = current()
    secs = seconds(duration)
    index = ctx.next_index()
    await ctx.admit(index)
    value = ctx.recorded(index, "sleep", str(duration))
    ctx.compare(index, "sleep", str(duration), {"duration": secs})
    if value is None:
        marker = ctx.marker("sleep", index)
        value = await ctx.suspend(
            {
                "type": "sleep",
                "kind": "sleep",
                "index": index,
                "marker": marker,
                "duration": secs,
                "record": {marker: {"duration": secs}},
            }
        )
    return float(value.get("duration", secs))


def signal_key(workflow_id: str, signal_id: str) -> str:
    """Signal ids are scoped per workflow: the hook key names both."""
    return f"{workflow_id}:{signal_id}"


async def wait_for(signal_id: str, timeout: float | int | str | None = None) -> Any:
    """Wait for ``signal(signal_id, data)`` to this workflow; returns ``data``.

    With ``timeout``, returns ``False`` when it ran out first.
    """
    ctx = current()
    key = signal_key(ctx.workflow_id, signal_id)
    data = await _wait("wait", signal_id, key, timeout, f"wait_for({signal_id})")
    if data.get("timedOut") is not None:
        return False
    return data.get("signal")


async def _wait(
    kind: str, label: str, key: str, timeout: float | int | str | None, what: str
) -> dict[str, Any]:
    """A recorded wait for the signal on hook key ``key`` (the wait graph):
    its data, ``{signal}`` or ``{timedOut}``; a failure of the wait raises."""
    ctx = current()
    index = ctx.next_index()
    await ctx.admit(index)
    value = ctx.recorded(index, kind, label)
    ctx.compare(index, kind, label, {"key": key})
    if value is None:
        wait: dict[str, Any] = {"key": key}
        if timeout is not None:
            wait["timeout"] = seconds(timeout)
        value = await ctx.suspend(
            {
                "type": "wait",
                "kind": kind,
                "index": index,
                "marker": ctx.marker(kind, index),
                "wait": wait,
            }
        )
    if "error" in value:
        raise _error_from(value, what)
    data: dict[str, Any] = value.get("data") or {}
    return data


_CHILD_OPTIONS = (
    "args",
    "task_queue",
    "taskQueue",
    "workflow_id",
    "workflowId",
    "workflow_name",
    "workflowName",
    "expire",
    "search",
    "throw_on_error",
    "parent_close_policy",
    "parentClosePolicy",
)


def _child_options(
    workflow: Any, options: Mapping[str, Any] | None, kw: dict[str, Any]
) -> dict[str, Any]:
    opts = {**(options or {}), **kw}
    check_keys(opts, _CHILD_OPTIONS, "child workflow")
    name = workflow or opts.get("workflow_name") or opts.get("workflowName")
    if callable(name):
        name = workflow_function(name).__name__
    if not isinstance(name, str) or not name:
        raise errors.WorkflowError("a child workflow needs a workflow_name")
    opts["workflow_name"] = name
    opts["parent_close_policy"] = closing.of(opts)
    return opts


@outbound("child")
async def _child(kind: str, workflow: Any, options: Any, kw: dict[str, Any]) -> Any:
    ctx = current()
    opts = _child_options(workflow, options, kw)
    name = opts["workflow_name"]
    given = workflow or opts.get("workflow_name") or opts.get("workflowName")
    fn = workflow_function(given) if callable(given) else None
    what = f"child workflow '{name}'"
    conv = ctx.converter
    arguments = encode_args(conv, fn, list(opts.get("args") or []), what)
    search = {
        f"_{k}": conv.to_json(v, f"{what} search field '{k}'")
        for k, v in dict(opts.get("search") or {}).items()
    }
    index = ctx.next_index()
    await ctx.admit(index)
    value = ctx.recorded(index, kind, name)
    ctx.compare(index, kind, name, {"args": arguments})
    if value is None:
        gen = f"{ctx.generation}-" if ctx.generation else ""
        if ctx.scope:
            gen = f"{ctx.scope}-{gen}"
        child_id = (
            opts.get("workflow_id")
            or opts.get("workflowId")
            or f"{ctx.workflow_id}-{name}-{gen}{index}"
        )
        child = {
            "arguments": arguments,
            "workflowId": child_id,
            "workflowName": name,
            "taskQueue": opts.get("task_queue")
            or opts.get("taskQueue")
            or ctx.task_queue,
            "parentWorkflowId": ctx.workflow_id,
            "originJobId": ctx.origin_job_id or ctx.workflow_id,
        }
        if opts.get("expire") is not None:
            child["expire"] = seconds(opts["expire"])
        if search:
            child["search"] = search
        child.update(closing.fields(opts["parent_close_policy"]))
        item: dict[str, Any] = {
            "type": "child",
            "kind": kind,
            "index": index,
            "marker": ctx.marker(kind, index),
            "child": child,
        }
        if kind == "start":
            item["await"] = False
            child["join"] = join_key(ctx.workflow_id, child_id)
        value = await ctx.suspend(item)
    if "error" in value:
        failure = _error_from(value, name)
        if opts.get("throw_on_error", True):
            raise failure
        return {"error": value["error"]}
    data = value.get("data") or {}
    if kind == "start":
        return ChildHandle(str(data.get("job_id")), name, ctx.workflow_id)
    return decode_result(conv, fn, data.get("response"), what)


def join_key(workflow_id: str, child_id: str) -> str:
    """The wait key a child started with ``start_child`` signals when it ends."""
    return signal_key(workflow_id, f"$child:{child_id}")


class ChildHandle(str):
    """What ``start_child`` returns: the child's workflow id (a ``str``, as
    before), and ``await handle.result()`` to wait for the child later.

    The wait is durable: the child signals its end (done, failed or
    interrupted) to the parent, and ``result()`` is a recorded step like
    ``wait_for``, so replay returns the same value without waiting again.
    """

    workflow_name: str
    parent_id: str

    def __new__(cls, child_id: str, workflow_name: str, parent_id: str) -> ChildHandle:
        handle = super().__new__(cls, child_id)
        handle.workflow_name = workflow_name
        handle.parent_id = parent_id
        return handle

    @property
    def workflow_id(self) -> str:
        """The child's workflow id."""
        return str(self)

    async def result(self, timeout: float | int | str | None = None) -> Any:
        """The child's return value; its failure raises here, as with ``exec_child``.

        With ``timeout``, raises ``TimeoutError`` (hotmesh's) when the child has
        not ended by then; the child keeps running.
        """
        ctx = current()
        if ctx.workflow_id != self.parent_id:
            raise errors.WorkflowError(
                f"child '{self}' was started by workflow '{self.parent_id}'; only "
                "that workflow can wait for it (use a client handle elsewhere)"
            )
        key = join_key(ctx.workflow_id, str(self))
        what = f"{self.workflow_name}({self})"
        data = await _wait("join", str(self), key, timeout, what)
        if data.get("timedOut") is not None:
            raise errors.TimeoutError(
                f"child '{self}' ({self.workflow_name}) had not ended within {timeout}"
            )
        outcome = data.get("signal") or {}
        out_data = outcome.get("data") or {}
        err = outcome.get("err")
        if err:
            detail = out_data.get("error") or {}
            kind = detail.get("type") or (
                "Interrupted" if err.get("code") == 410 else None
            )
            failure = {
                "message": detail.get("message") or err.get("message", ""),
                "stack": err.get("stack", ""),
            }
            if kind:
                failure["type"] = kind
            raise _error_from({"error": failure}, self.workflow_name)
        return out_data.get("response")


async def exec_child(
    workflow: Any = None, options: Mapping[str, Any] | None = None, **kw: Any
) -> Any:
    """Run child workflow ``workflow`` (a function or a name) and return its
    result (its failure raises here); options: ``args``, ``task_queue``,
    ``workflow_id``, ``expire``, ``search``."""
    return await _child("child", workflow, options, kw)


async def start_child(
    workflow: Any = None, options: Mapping[str, Any] | None = None, **kw: Any
) -> ChildHandle:
    """Start a child workflow without waiting; returns a ``ChildHandle`` (its
    workflow id, a ``str``; ``await handle.result()`` waits for it)."""
    return cast(ChildHandle, await _child("start", workflow, options, kw))


execute_child = exec_child


async def _system(kind: str, name: str, args: list[Any]) -> Any:
    ctx = current()
    policy = SYSTEM_RETRY.to_options()
    topic = system_topic(ctx.namespace)
    return await _proxy(ctx, kind, name, args, topic, policy)


def signal(
    signal_id: Any = None,
    data: Any = None,
    workflow_id: str | None = None,
    *,
    name: str | None = None,
) -> Any:
    """Send ``data`` to ``wait_for(signal_id)`` of ``workflow_id`` (default: this
    one): ``await signal(...)``, exactly once (a recorded step of this workflow).

    On a method of a ``@defn`` class, ``@signal`` (or ``@signal(name=...)``)
    marks it a signal handler instead, as Temporal's ``@workflow.signal``.
    """
    if signal_id is None or (callable(signal_id) and not isinstance(signal_id, str)):
        return signal_handler(signal_id, name=name)
    return _send_signal(str(signal_id), data, workflow_id)


async def _send_signal(signal_id: str, data: Any, workflow_id: str | None) -> Any:
    ctx = current()
    target = workflow_id or ctx.workflow_id
    data = ctx.converter.to_json(data, f"signal '{signal_id}' data")
    return await _system(
        "signal", "signal", [signal_key(target, signal_id), data, target]
    )


async def interrupt(workflow_id: str, reason: str | None = None, **options: Any) -> Any:
    """Interrupt (terminate) another workflow; a recorded step of this one."""
    return await _system("interrupt", "interrupt", [workflow_id, reason, options])


async def emit(events: Mapping[str, Any]) -> Any:
    """Publish ``{topic: message}`` user events to subscribers, once per workflow run."""
    events = current().converter.to_json(dict(events), "emit events")
    return await _system("emit", "emit", [events])


async def hook(
    workflow: Any = None, options: Mapping[str, Any] | None = None, **kw: Any
) -> str:
    """Run a hook function inside a workflow's job (default: this one); returns its id.

    The hook function shares the job's search fields and signals; the target
    must have been started with ``signal_in=True``. ``workflow_id`` names
    another target.
    """
    ctx = current()
    opts = _child_options(workflow, options, kw)
    target = opts.get("workflow_id") or opts.get("workflowId") or ctx.workflow_id
    # The id is derived from this call's place in the history: a re-sent hook
    # signal (a retried step) replays the same hook's markers.
    seed = f"{ctx.workflow_id}:{ctx.generation}:{ctx.scope}:{ctx.counter + 1}"
    hook_id = _uuid.uuid5(_uuid.NAMESPACE_URL, seed).hex[:16]
    return str(
        await _system(
            "hook",
            "hook",
            [
                target,
                opts["workflow_name"],
                encode_args(
                    ctx.converter,
                    workflow_function(workflow) if callable(workflow) else None,
                    list(opts.get("args") or []),
                    f"hook '{opts['workflow_name']}'",
                ),
                opts.get("task_queue") or opts.get("taskQueue") or ctx.task_queue,
                hook_id,
            ],
        )
    )


@outbound("continue_as_new")
def continue_as_new(*args: Any) -> None:
    """Restart this workflow in the same job with new arguments (history reset)."""
    current()
    raise ContinueAsNew(list(args))


def random() -> float:
    """A deterministic random number in [0, 1): the same on every replay."""
    ctx = current()
    index = ctx.next_index()
    seed = f"{ctx.workflow_id}:{ctx.generation}:{ctx.scope}:{index}"
    return _random.Random(seed).random()


def uuid4() -> str:
    """A deterministic v4 UUID (from ``random()``)."""
    ctx = current()
    index = ctx.next_index()
    rng = _random.Random(f"{ctx.workflow_id}:{ctx.generation}:{ctx.scope}:{index}:uuid")
    return str(_uuid.UUID(int=rng.getrandbits(128), version=4))


def now() -> datetime:
    """The workflow's clock: recorded on first run, the same on every replay."""
    ctx = current()
    index = ctx.next_index()
    value = ctx.recorded(index, "now", "now")
    if value is None:
        stamp = ctx.time()
        ctx.markers[ctx.marker("now", index)] = {"data": stamp}
    else:
        stamp = float(value["data"])
    return datetime.fromtimestamp(stamp, UTC)


async def trace(name: str, attributes: Mapping[str, Any] | None = None) -> bool:
    """Record span ``name`` with ``attributes`` in this workflow's trace, once:
    a replay records nothing. ``True`` when recorded now (``False`` on replay,
    or when the workflow is not traced)."""
    ctx = current()
    index = ctx.next_index()
    if ctx.recorded(index, "trace", name) is not None:
        return False
    done = telemetry.user_span(name, dict(attributes or {}), ctx.trace_ids)
    ctx.markers[ctx.marker("trace", index)] = {"data": done, "name": name}
    return done


def patch_marker(ctx: WorkflowContext, patch_id: str) -> str:
    """``-patch[$gen][@hook]:<patch id>-``: named, not positional, so adding or
    removing a ``patched`` call never shifts the replay indices."""
    gen = f"${ctx.generation}" if ctx.generation else ""
    at = f"@{ctx.scope}" if ctx.scope else ""
    return f"-patch{gen}{at}:{patch_id}-"


def patched(patch_id: str) -> bool:
    """Whether this run takes the new code path of a change named ``patch_id``.

    ``True`` for a workflow that reaches this point under the new code (the
    decision is recorded, so every replay agrees); ``False`` for one whose
    recorded history already goes past this point, written by the old code,
    so it keeps replaying the old path. Temporal's ``patched``::

        if wf.patched("add-fraud-check"):
            await acts.fraud_check(order)
    """
    ctx = current()
    key = patch_marker(ctx, patch_id)
    if ctx.state.get(key) is not None or key in ctx.markers:
        return True
    if any(index > ctx.counter for index in ctx.replay):
        return False  # the old code already ran past here
    ctx.markers[key] = True
    return True


def deprecate_patch(patch_id: str) -> None:
    """Mark a patch whose old path is gone (every old run finished).

    A no-op kept for Temporal compatibility: patch markers are named, not
    positional, so removing the ``patched`` call leaves replays intact.
    """
    current()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def workflow_info() -> dict[str, Any]:
    """Who and where this workflow is, how far the replay has come, and when it
    was to start (``scheduled_at``: its schedule tick or delayed start, else
    None) and did start (``started_at``), as ISO 8601 UTC text (the dict
    stays plain JSON, so a workflow may return it)."""
    ctx = current()
    return {
        "workflow_id": ctx.workflow_id,
        "workflow_name": ctx.workflow_name,
        "task_queue": ctx.task_queue,
        "namespace": ctx.namespace,
        "workflow_topic": f"{ctx.task_queue}-{ctx.workflow_name}",
        "generation": ctx.generation,
        "parent_workflow_id": ctx.parent_workflow_id,
        "origin_job_id": ctx.origin_job_id,
        "hook_id": ctx.scope or None,
        "counter": ctx.counter,
        "replay": ctx.counter + 1 in ctx.replay,
        "scheduled_at": _iso(ctx.scheduled_at),
        "started_at": _iso(ctx.started_at),
    }


get_context = workflow_info
info = workflow_info


def did_interrupt(error: BaseException) -> bool:
    """Whether ``error`` is MemFlow control flow that user code must re-raise."""
    return isinstance(error, ContinueAsNew | ActivationEnded)


# camelCase spellings of upstream MemFlow / Durable
proxyActivities = proxy_activities
sleepFor = sleep_for
sleep = sleep_for
waitFor = wait_for
condition = wait_for
deprecatePatch = deprecate_patch
execChild = exec_child
executeChild = exec_child
startChild = start_child
continueAsNew = continue_as_new
getContext = workflow_info
workflowInfo = workflow_info
didInterrupt = did_interrupt
setSignalHandler = set_signal_handler
setQueryHandler = set_query_handler
setUpdateHandler = set_update_handler
waitCondition = wait_condition
terminate = interrupt
