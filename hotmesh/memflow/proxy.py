"""Activity proxies: the durable call of an activity from a workflow, and its
retry policy (``MemFlow.workflow.proxy_activities``)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
import types
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar, overload

from hotmesh import errors, flow
from hotmesh.durations import seconds
from hotmesh.engine.options import check_keys
from hotmesh.engine.retry import MEMFLOW_RETRY, RETRY_KEYS, RetryPolicy
from hotmesh.memflow import limits, registry
from hotmesh.memflow.context import WorkflowContext, current
from hotmesh.memflow.interceptors import StartActivityInput
from hotmesh.memflow.signatures import decode_result, encode_args

#: Activity retry defaults (``RetryPolicy`` with MemFlow's values), snake_case.
DEFAULT_RETRY: dict[str, Any] = MEMFLOW_RETRY.to_options()
#: retry-policy keys that are not back-off settings (kept as given)
_POLICY_FLAGS = {"throwOnError": "throw_on_error"}
_STACK_TYPE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


def make_policy(policy: Mapping[str, Any] | None) -> dict[str, Any]:
    """A complete retry policy: MemFlow's defaults, snake_case or camelCase
    keys, durations in seconds or strings (read by ``RetryPolicy``); other
    keys (``throw_on_error``) kept as given."""
    given = dict(policy or {})
    check_keys(
        given, [*_BACKOFF_KEYS, *_POLICY_FLAGS, *_POLICY_FLAGS.values()], "retry_policy"
    )
    for key in ("maximum_attempts", "maximumAttempts"):
        if key in given:  # fewer than one attempt means one
            given[key] = max(1, int(given[key]))
    structured = RetryPolicy.from_options(given, MEMFLOW_RETRY)
    flags = {
        _POLICY_FLAGS.get(k, k): v for k, v in given.items() if k not in _BACKOFF_KEYS
    }
    return {**structured.to_options(), **flags}


_BACKOFF_KEYS = frozenset(RETRY_KEYS)
#: the policy of MemFlow's built-in side effects (signal, interrupt...)
SYSTEM_RETRY = RetryPolicy(3, MEMFLOW_RETRY.backoff_coefficient, 0.1, 120.0)


def activity_topic(task_queue: str) -> str:
    """The worker topic of a task queue's activities."""
    return f"{task_queue}-activity"


def system_topic(namespace: str) -> str:
    """The worker topic of a namespace's built-in side effects (signal, interrupt…)."""
    return f"{namespace}.system"


def _error_from(value: Mapping[str, Any], label: str) -> errors.ActivityFailedError:
    err = value.get("error")
    if isinstance(err, str):  # a failed child: the child job's metadata.err
        import json

        try:
            err = json.loads(err)
        except ValueError:
            err = {"message": err}
    if not isinstance(err, Mapping):
        err = {"message": str(err)}
    kind = err.get("type")
    if not kind:
        stack = str(err.get("stack") or "").strip().splitlines()
        match = _STACK_TYPE.match(stack[-1]) if stack else None
        kind = match.group(1) if match else "Error"
    timeout = err.get("timeoutType")
    return errors.ActivityFailedError(
        label,
        str(err.get("message", "")),
        str(kind),
        None if timeout is None else str(timeout),
    )


async def _proxy(
    ctx: WorkflowContext,
    kind: str,
    name: str,
    args: list[Any],
    topic: str,
    policy: dict[str, Any],
    priority: int | None = None,
    keys: Callable[[], dict[str, str]] | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> Any:
    index = ctx.next_index()
    await ctx.admit(index)
    value = ctx.recorded(index, kind, name)
    ctx.compare(index, kind, name, {"args": args})
    if value is None:
        marker = ctx.marker(kind, index)
        keyed = keys() if keys is not None else {}  # the call's ckey/rkey
        if any(k in policy for k in SCHEDULED_TIMEOUTS):
            # the schedule-time timeouts count from now, across every attempt
            policy = {**policy, "scheduled_at": ctx.time()}
        value = await ctx.suspend(
            {
                "type": "proxy",
                "kind": kind,
                "index": index,
                "marker": marker,
                "topic": topic,
                "input": {
                    "name": name,
                    "args": args,
                    "marker": marker,
                    "retry": policy,
                    "workflowId": ctx.workflow_id,
                    "workflowName": ctx.workflow_name,
                    "taskQueue": ctx.task_queue,
                    **({"priority": priority} if priority is not None else {}),
                    **keyed,
                },
            }
        )
    if "error" in value:
        if kind == "proxy" and _cancelled(value):
            # the activity stopped at a heartbeat because this workflow is
            # being cancelled: the cancellation reaches the workflow here
            raise asyncio.CancelledError(str(value["error"].get("message") or ""))
        failure = _error_from(value, name)
        if policy.get("throw_on_error", True):
            raise failure
        return {"error": value["error"]}
    data = value.get("data")
    return data if decode is None else decode(data)


def _cancelled(value: Mapping[str, Any]) -> bool:
    err = value.get("error")
    return isinstance(err, Mapping) and err.get("type") == "CancelledError"


class ActivityProxy:
    """Attribute access gives an async wrapper per activity name."""

    def __init__(
        self,
        funcs: dict[str, Callable[..., Any]] | None,
        task_queue: str | None,
        policy: dict[str, Any],
        priority: int | None = None,
        keyed: limits.ProxyLimits | None = None,
    ) -> None:
        self._funcs = funcs
        self._task_queue = task_queue
        self._policy = policy
        self._priority = priority
        self._keyed = keyed

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._funcs is not None and name not in self._funcs:
            raise AttributeError(f"no activity '{name}' in this proxy")

        async def call(*args: Any) -> Any:
            chain = current().outbound
            if chain is None:
                return await self._run(name, list(args))
            given = StartActivityInput(name, list(args), self)
            return await chain.start_activity(given)

        call.__name__ = name
        return call

    async def _run(self, name: str, args: list[Any]) -> Any:
        """The call itself (the end of the outbound interceptor chain)."""
        ctx = current()
        topic = activity_topic(self._task_queue or ctx.task_queue)
        # the declared types: of the function given, else of the one
        # registered in this process under that name (if any)
        fn = (self._funcs or {}).get(name) or registry.activity(
            ctx.namespace, topic, name
        )
        keys = None
        if self._keyed is not None:  # taken only when the call is made
            where = "proxy_activities"
            keys = functools.partial(self._keyed.keys, where, name, list(args), fn)
        what = f"activity '{name}'"
        conv = ctx.converter
        sent = encode_args(conv, fn, list(args), what)

        def decode(value: Any) -> Any:
            return decode_result(conv, fn, value, what)

        return await _proxy(
            ctx,
            "proxy",
            name,
            sent,
            topic,
            self._policy,
            self._priority,
            keys,
            decode,
        )


def _functions(activities: Any) -> dict[str, Callable[..., Any]]:
    if activities is None:
        return {}
    if isinstance(activities, Mapping):
        return {str(k): v for k, v in activities.items() if callable(v)}
    if isinstance(activities, types.ModuleType):
        # plain functions only: imported classes and modules are not activities
        return {
            k: v
            for k, v in vars(activities).items()
            if inspect.isfunction(v) and not k.startswith("_")
        }
    if isinstance(activities, list | tuple):
        return {f.__name__: f for f in activities}
    return {
        k: getattr(activities, k)
        for k in dir(activities)
        if not k.startswith("_") and callable(getattr(activities, k))
    }


#: the timeouts of ``proxy_activities``: snake_case name -> camelCase alias
TIMEOUTS = {
    "start_to_close_timeout": "startToCloseTimeout",
    "schedule_to_close_timeout": "scheduleToCloseTimeout",
    "schedule_to_start_timeout": "scheduleToStartTimeout",
    "heartbeat_timeout": "heartbeatTimeout",
}
#: the timeouts that count from when the workflow scheduled the activity
SCHEDULED_TIMEOUTS = ("schedule_to_close_timeout", "schedule_to_start_timeout")
_PROXY_OPTIONS = {
    "taskQueue",
    "retryPolicy",
    "retry",
    "priority",
    "concurrency",
    "rate",
    *TIMEOUTS,
}
_PROXY_OPTIONS.update(TIMEOUTS.values())


_Acts = TypeVar("_Acts")


@overload
def proxy_activities(
    activities: Mapping[str, Any] | list[Any] | tuple[Any, ...] | None = None,
    task_queue: str | None = None,
    retry_policy: Mapping[str, Any] | None = None,
    **options: Any,
) -> Any: ...


@overload
def proxy_activities(
    activities: _Acts,
    task_queue: str | None = None,
    retry_policy: Mapping[str, Any] | None = None,
    **options: Any,
) -> _Acts: ...


def proxy_activities(
    activities: Any = None,
    task_queue: str | None = None,
    retry_policy: Mapping[str, Any] | None = None,
    **options: Any,
) -> Any:
    """A proxy whose methods run activities durably on ``<task_queue>-activity``.

    Typed as what it is given: for an object whose activities are ``async
    def`` methods, ``await proxy.charge(5)`` has ``charge``'s signature and
    return type (a module's attributes are ``Any`` to type checkers).

    ``activities`` (a module, a dict or a list of functions) is registered for
    this process's activity workers; without it any name is proxied. Options
    may be camelCase (``taskQueue``, ``retryPolicy``, ``retry``).
    ``start_to_close_timeout`` (seconds or ``"30s"``) fails an attempt that
    runs longer; the failure is retried by the policy like any other (a plain
    function's thread cannot be stopped, so it runs on, unheard).
    ``heartbeat_timeout`` fails an attempt that goes that long without
    ``activity.heartbeat()`` (retried); ``schedule_to_start_timeout`` fails
    the activity when its first attempt starts later than that after the
    workflow scheduled it, and ``schedule_to_close_timeout`` when it has not
    completed that long after, retries included (neither is retried).
    ``priority`` (an integer) orders these activities' work among the task
    queue's waiting work: higher first. ``concurrency`` (``N`` or ``{"limit":
    N, "key": k}``) and ``rate`` (``{"limit": N, "period": "1m", "key"?: k}``)
    are the task queue's limits, enforced in the database across every
    process; a key ``k`` is an activity parameter's name, an argument
    position, or a function of the call's arguments.
    """
    priority = options.get("priority")
    if priority is not None:
        priority = flow.priority(priority, "proxy_activities")
    check_keys(options, _PROXY_OPTIONS, "proxy_activities")
    task_queue = task_queue or options.get("taskQueue")
    retry_policy = retry_policy or options.get("retryPolicy") or options.get("retry")
    funcs = _functions(activities)
    flow_options = limits.options(
        options.get("concurrency"), options.get("rate"), "proxy_activities", funcs
    )
    ctx = current()
    queue = task_queue or ctx.task_queue
    if funcs:
        registry.add_activities(ctx.namespace, activity_topic(queue), funcs)
    if flow_options.declared:
        # written to the database before this activation's calls are sent
        limits.declare(ctx.namespace, activity_topic(queue), flow_options.declared)
    policy = make_policy(retry_policy)
    for key, alias in TIMEOUTS.items():
        timeout = options.get(key, options.get(alias))
        if timeout is not None:
            # rides in the work message with the retry policy (the shape
            # upstream HotMesh uses for start_to_close_timeout)
            if isinstance(timeout, timedelta):  # Temporal's spelling
                timeout = timeout.total_seconds()
            limit = seconds(timeout, f"proxy_activities {key}")
            if not limit > 0:
                raise errors.ConfigError(
                    f"proxy_activities: {key} must be a positive duration, "
                    f"not {timeout!r}"
                )
            policy[key] = limit
    keyed = flow_options if flow_options.ckey or flow_options.rkey else None
    return ActivityProxy(funcs or None, task_queue, policy, priority, keyed)
