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
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
