"""MemFlow interceptors (issue 23): code that wraps the client's calls and
the activities' execution, as a chain.

``interceptors=[...]`` in ``MemFlow.Client({...})`` and in ``Worker.create`` /
``register_activity_worker`` configs takes :class:`Interceptor` instances.
Each one may wrap the client's outbound calls (``intercept_client``) and the
worker's activity executions (``intercept_activity``). Every wrapper holds
``next``, the rest of the chain, and calls it (with the input as given, or
changed) to go on; not calling it skips the call.

Order: the first interceptor of the list is the outermost. Its method runs
first, and its code after ``await self.next...`` runs last.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from hotmesh import errors

if TYPE_CHECKING:
    from hotmesh.memflow.client import Client
    from hotmesh.memflow.handle import WorkflowHandle
    from hotmesh.memflow.updates import UpdateHandle


@dataclass
class StartWorkflowInput:
    """``client.workflow.start`` (and ``execute``, update-with-start)."""

    #: the workflow function, or its name
    workflow: str | Callable[..., Any]
    #: its arguments, before the data converter
    args: list[Any]
    #: the other keywords of ``start``: ``task_queue``, ``workflow_id``, ...
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class SignalWorkflowInput:
    """``handle.signal(signal, *args)``."""

    handle: WorkflowHandle[Any]
    signal: str | Callable[..., Any]
    args: list[Any]


@dataclass
class QueryWorkflowInput:
    """``handle.query(query, *args)``."""

    handle: WorkflowHandle[Any]
    query: str | Callable[..., Any]
    args: list[Any]


@dataclass
class StartWorkflowUpdateInput:
    """``handle.start_update`` / ``execute_update`` (and update-with-start)."""

    handle: WorkflowHandle[Any]
    update: str | Callable[..., Any]
    args: list[Any]
    update_id: str | None
    #: ``execute_update``: its result is awaited at once (the caller listens
    #: for the outcome from before the update is sent)
    awaited: bool = False


@dataclass
class CancelWorkflowInput:
    """``handle.cancel(reason)``."""

    handle: WorkflowHandle[Any]
    reason: str | None


@dataclass
class ExecuteActivityInput:
    """One attempt of an activity, inside its ``activity.info()`` context."""

    fn: Callable[..., Any]
    #: its arguments, decoded to the types its signature declares
    args: list[Any]


class ClientOutboundInterceptor:
    """Wraps the client's calls; each method passes on to ``self.next``."""

    def __init__(self, next: ClientOutboundInterceptor) -> None:
        self.next = next

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any]:
        return await self.next.start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        await self.next.signal_workflow(input)

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        return await self.next.query_workflow(input)

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> UpdateHandle:
        return await self.next.start_workflow_update(input)

    async def cancel_workflow(self, input: CancelWorkflowInput) -> None:
        await self.next.cancel_workflow(input)


class ActivityInboundInterceptor:
    """Wraps an activity's execution; passes on to ``self.next``."""

    def __init__(self, next: ActivityInboundInterceptor) -> None:
        self.next = next

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        return await self.next.execute_activity(input)


class Interceptor:
    """Subclass and override the hooks wanted; the defaults add nothing."""

    def intercept_client(
        self, next: ClientOutboundInterceptor
    ) -> ClientOutboundInterceptor:
        """The client's outbound wrapper around ``next`` (or ``next`` itself)."""
        return next

    def intercept_activity(
        self, next: ActivityInboundInterceptor
    ) -> ActivityInboundInterceptor:
        """The activities' inbound wrapper around ``next`` (or ``next`` itself)."""
        return next

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        """A ``WorkflowInboundInterceptor`` class for the workflows of
        ``input.task_queue`` (made anew each activation), or None."""
        return None


class _ClientCalls(ClientOutboundInterceptor):
    """The chain's end: the client's own calls."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any]:
        return await self.client.workflow._start(
            list(input.args), workflow_name=input.workflow, **input.options
        )

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        from hotmesh.memflow import updates

        await updates.signal(input.handle, input.signal, list(input.args))

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        from hotmesh.memflow import updates

        return await updates.query(input.handle, input.query, list(input.args))

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> UpdateHandle:
        from hotmesh.memflow import updates

        return await updates.start_update(
            input.handle,
            input.update,
            list(input.args),
            input.update_id,
            awaited=input.awaited,
        )

    async def cancel_workflow(self, input: CancelWorkflowInput) -> None:
        from hotmesh.memflow import updates

        await updates.cancel(input.handle, input.reason)


class _Execute(ActivityInboundInterceptor):
    """The chain's end: call the activity (a plain function in a thread)."""

    def __init__(self) -> None:
        pass

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if inspect.iscoroutinefunction(input.fn):
            return await input.fn(*input.args)
        value = await asyncio.to_thread(input.fn, *input.args)
        return await value if inspect.isawaitable(value) else value


def check(given: Any, where: str) -> list[Interceptor]:
    """The ``interceptors`` of a config, checked: a list of ``Interceptor``."""
    if given is None:
        return []
    if not isinstance(given, Sequence) or isinstance(given, str | bytes):
        raise errors.ConfigError(
            f"{where}: 'interceptors' is a list of Interceptor instances, "
            f"not {type(given).__name__}"
        )
    for i, one in enumerate(given):
        if not isinstance(one, Interceptor):
            cls = isinstance(one, type) and issubclass(one, Interceptor)
            hint = " (an instance, not the class)" if cls else ""
            raise errors.ConfigError(
                f"{where}: interceptors[{i}] is not an Interceptor{hint}: "
                f"{one.__name__ if isinstance(one, type) else type(one).__name__}"
            )
    return list(given)


def client_chain(
    client: Client, interceptors: Sequence[Interceptor]
) -> ClientOutboundInterceptor:
    """The client's outbound chain, the first interceptor outermost."""
    chain: ClientOutboundInterceptor = _ClientCalls(client)
    for one in reversed(interceptors):
        chain = one.intercept_client(chain)
    return chain


def activity_chain(
    interceptors: Sequence[Interceptor],
) -> ActivityInboundInterceptor | None:
    """The activities' inbound chain, or None when nothing intercepts."""
    if not interceptors:
        return None
    chain: ActivityInboundInterceptor = _Execute()
    for one in reversed(interceptors):
        chain = one.intercept_activity(chain)
    return chain


def wrap_activity(
    fn: Callable[..., Any], chain: ActivityInboundInterceptor | None
) -> Callable[..., Any]:
    """``fn`` called through ``chain`` (``fn`` itself without one)."""
    if chain is None:
        return fn

    async def through(*args: Any) -> Any:
        return await chain.execute_activity(ExecuteActivityInput(fn, list(args)))

    return through


# -- workflow interceptors: run inside the workflow, on every activation --


@dataclass
class WorkflowInterceptorClassInput:
    """What ``workflow_interceptor_class`` is asked for: one worker's queue."""

    namespace: str
    task_queue: str


@dataclass
class ExecuteWorkflowInput:
    """The workflow function and its (decoded) arguments, each activation."""

    fn: Callable[..., Any]
    args: list[Any]


@dataclass
class HandleSignalInput:
    """A signal handler's run (``handle.signal``), in the workflow."""

    signal: str
    args: list[Any]
    handler: Callable[..., Any]


@dataclass
class HandleQueryInput:
    """A query handler's run, in the replayed workflow."""

    query: str
    args: list[Any]
    handler: Callable[..., Any]


@dataclass
class HandleUpdateInput:
    """An update handler's run (after its validator accepted it)."""

    update: str
    args: list[Any]
    handler: Callable[..., Any]
    id: str


@dataclass
class StartActivityInput:
    """A proxied activity call (``await acts.name(*args)``)."""

    activity: str
    args: list[Any]
    #: the proxy it was called on (its options: task queue, retry policy)
    proxy: Any


@dataclass
class StartChildWorkflowInput:
    """``exec_child`` (``wait`` True) or ``start_child`` (False)."""

    workflow: Any
    #: ``args``, ``task_queue``, ``workflow_id``, ... as given
    options: dict[str, Any]
    wait: bool


@dataclass
class SleepInput:
    """``sleep_for(duration)``."""

    duration: float | int | str


@dataclass
class ContinueAsNewInput:
    """``continue_as_new(*args)``."""

    args: list[Any]


class WorkflowOutboundInterceptor:
    """Wraps the workflow's durable calls; each passes on to ``self.next``."""

    def __init__(self, next: WorkflowOutboundInterceptor) -> None:
        self.next = next

    async def start_activity(self, input: StartActivityInput) -> Any:
        return await self.next.start_activity(input)

    async def start_child_workflow(self, input: StartChildWorkflowInput) -> Any:
        return await self.next.start_child_workflow(input)

    async def sleep(self, input: SleepInput) -> float:
        return await self.next.sleep(input)

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        self.next.continue_as_new(input)


class WorkflowInboundInterceptor:
    """Wraps the workflow function's run; ``init`` wraps the outbound chain."""

    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        self.next = next

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        """Called once per activation, first: pass a wrapper of ``outbound``
        on to ``self.next.init`` to intercept the workflow's calls."""
        self.next.init(outbound)

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        return await self.next.execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        await self.next.handle_signal(input)

    async def handle_query(self, input: HandleQueryInput) -> Any:
        return await self.next.handle_query(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        return await self.next.handle_update_handler(input)


#: (namespace, task queue) -> the workflow interceptor classes, outermost first
_WORKFLOW_CLASSES: dict[tuple[str, str], list[type[WorkflowInboundInterceptor]]] = {}
#: the durable calls' own implementations (workflow.py, proxy.py)
_CALLS: dict[str, Callable[..., Any]] = {}


def register_workflow(
    namespace: str, task_queue: str, interceptors: Sequence[Interceptor]
) -> None:
    """The workflow interceptor classes of a worker's queue (replacing any)."""
    given = WorkflowInterceptorClassInput(namespace, task_queue)
    found = [one.workflow_interceptor_class(given) for one in interceptors]
    _WORKFLOW_CLASSES[(namespace, task_queue)] = [c for c in found if c is not None]


class _WorkflowCalls(WorkflowOutboundInterceptor):
    """The outbound chain's end: the calls' own implementations."""

    def __init__(self) -> None:
        pass

    async def start_activity(self, input: StartActivityInput) -> Any:
        return await input.proxy._run(input.activity, list(input.args))

    async def start_child_workflow(self, input: StartChildWorkflowInput) -> Any:
        kind = "child" if input.wait else "start"
        return await _CALLS["child"](kind, input.workflow, None, dict(input.options))

    async def sleep(self, input: SleepInput) -> float:
        value: float = await _CALLS["sleep"](input.duration)
        return value

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        _CALLS["continue_as_new"](*input.args)
        raise AssertionError("continue_as_new returned")  # it raises


class _WorkflowRun(WorkflowInboundInterceptor):
    """The inbound chain's end: keeps the outbound chain, runs the function."""

    def __init__(self, ctx: Any, call: Callable[..., Awaitable[Any]]) -> None:
        self.ctx, self.call = ctx, call

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self.ctx.outbound = outbound

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        return await self.call(input.fn, list(input.args))

    async def handle_signal(self, input: HandleSignalInput) -> None:
        await _run(input.handler, input.args)

    async def handle_query(self, input: HandleQueryInput) -> Any:
        return await _run(input.handler, input.args)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        return await _run(input.handler, input.args)


async def _run(handler: Callable[..., Any], args: list[Any]) -> Any:
    if inspect.iscoroutinefunction(handler):
        return await handler(*args)
    return handler(*args)  # a plain handler: nothing awaited (see ``handler``)


def handler(
    ctx: Any, kind: str, name: str, fn: Callable[..., Any], update_id: str = ""
) -> Callable[..., Any]:
    """A signal/query/update handler called through the activation's inbound
    chain, or ``fn`` itself without one. A plain handler stays plain: the
    chain runs to its end at once (a workflow interceptor does no I/O), so
    the handler runs at the same point as without interceptors."""
    chain: WorkflowInboundInterceptor | None = ctx.inbound
    if chain is None:
        return fn

    def hooked(args: tuple[Any, ...]) -> Coroutine[Any, Any, Any]:
        assert chain is not None
        if kind == "signal":
            return chain.handle_signal(HandleSignalInput(name, list(args), fn))
        if kind == "query":
            return chain.handle_query(HandleQueryInput(name, list(args), fn))
        given = HandleUpdateInput(name, list(args), fn, update_id)
        return chain.handle_update_handler(given)

    if inspect.iscoroutinefunction(fn):

        async def through(*args: Any) -> Any:
            return await hooked(args)

        return functools.wraps(fn)(through)

    def at_once(*args: Any) -> Any:
        coro = hooked(args)
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value
        coro.close()
        raise errors.WorkflowError(
            f"a workflow interceptor waited in the {kind} handler '{name}': "
            "around a plain handler the chain must not await (no I/O)"
        )

    return functools.wraps(fn)(at_once)


def execute(
    ctx: Any,
    call: Callable[[Callable[..., Any], list[Any]], Coroutine[Any, Any, Any]],
    fn: Callable[..., Any],
    args: list[Any],
) -> Coroutine[Any, Any, Any]:
    """The workflow function's run in this activation, through the inbound
    chain of its queue's interceptors (new instances each activation)."""
    classes = _WORKFLOW_CLASSES.get((ctx.namespace, ctx.task_queue))
    if not classes:
        return call(fn, args)
    chain: WorkflowInboundInterceptor = _WorkflowRun(ctx, call)
    for cls in reversed(classes):
        chain = cls(chain)
    chain.init(_WorkflowCalls())
    ctx.inbound = chain
    return chain.execute_workflow(ExecuteWorkflowInput(fn, list(args)))


F = TypeVar("F", bound=Callable[..., Any])


def outbound(name: str) -> Callable[[F], F]:
    """Route durable call ``name`` (``sleep``, ``child``, ``continue_as_new``)
    through the activation's outbound chain, when it has one."""

    def wrap(own: F) -> F:
        _CALLS[name] = own

        def chained(*args: Any, **kw: Any) -> Any:
            from hotmesh.memflow.context import current

            chain: WorkflowOutboundInterceptor | None = current().outbound
            if chain is None:
                return own(*args, **kw)
            if name == "sleep":
                return chain.sleep(SleepInput(args[0] if args else kw["duration"]))
            if name == "child":
                kind, workflow, options, kw = args
                opts = {**(options or {}), **kw}
                given = StartChildWorkflowInput(workflow, opts, kind == "child")
                return chain.start_child_workflow(given)
            chain.continue_as_new(ContinueAsNewInput(list(args)))

        return cast(F, functools.wraps(own)(chained))

    return wrap
