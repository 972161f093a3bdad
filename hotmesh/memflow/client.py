"""The MemFlow client: start workflows, get handles, await results, signal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Self, TypeVar, overload

from hotmesh import errors
from hotmesh.durations import seconds
from hotmesh.engine.options import check_keys
from hotmesh.engine.retry import RetryPolicy
from hotmesh.engine.step import new_job_id
from hotmesh.memflow import codec as _codec
from hotmesh.memflow import completion as _completion
from hotmesh.memflow import config as _config
from hotmesh.memflow import interceptors as _interceptors
from hotmesh.memflow import manage as _manage
from hotmesh.memflow import reset as _reset
from hotmesh.memflow import timeouts as _timeouts
from hotmesh.memflow import updates as _updates
from hotmesh.memflow import worker as _worker
from hotmesh.memflow.classes import workflow_function
from hotmesh.memflow.handle import WorkflowHandle as WorkflowHandle
from hotmesh.memflow.proxy import make_policy
from hotmesh.memflow.schedules import ScheduleClient
from hotmesh.memflow.signatures import encode_args
from hotmesh.memflow.workflow import signal_key
from hotmesh.mesh import HotMesh


def _camel_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """A workflow retry policy as the engine reads it from a work message."""
    return RetryPolicy.from_options(make_policy(policy)).to_message()


R = TypeVar("R")
#: camelCase spellings ``workflow.start`` also takes (upstream's names)
START_ALIASES = {
    "taskQueue": "task_queue",
    "workflowName": "workflow_name",
    "workflowId": "workflow_id",
    "signalIn": "signal_in",
    "retryPolicy": "retry_policy",
    "parentWorkflowId": "parent_workflow_id",
    "originJobId": "origin_job_id",
    "startDelay": "start_delay",
}
START_OPTIONS = (
    "args",
    "task_queue",
    "workflow_name",
    "workflow_id",
    "expire",
    "search",
    "retry_policy",
    "signal_in",
    "parent_workflow_id",
    "origin_job_id",
    "start_delay",
    "execution_timeout",
    "run_timeout",
    *START_ALIASES,
)


class WorkflowClient:
    """``client.workflow``: start, get_handle, signal, hook."""

    #: the handle class this client makes (the time-skipping test environment
    #: gives its own, whose ``result()`` lets time skip)
    handle_type: type[WorkflowHandle[Any]] = WorkflowHandle

    def __init__(self, client: Client) -> None:
        self._client = client

    @overload
    async def start(
        self,
        workflow: Callable[..., Awaitable[R]],
        /,
        *args: Any,
        task_queue: str | None = None,
        workflow_id: str | None = None,
        expire: float | str | None = None,
        search: Mapping[str, Any] | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        signal_in: bool = False,
        parent_workflow_id: str | None = None,
        origin_job_id: str | None = None,
        start_delay: float | str | None = None,
        execution_timeout: float | str | None = None,
        run_timeout: float | str | None = None,
        **camel: Any,
    ) -> WorkflowHandle[R]: ...

    @overload
    async def start(
        self,
        workflow: str | type[Any],
        /,
        *args: Any,
        task_queue: str | None = None,
        workflow_id: str | None = None,
        expire: float | str | None = None,
        search: Mapping[str, Any] | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        signal_in: bool = False,
        parent_workflow_id: str | None = None,
        origin_job_id: str | None = None,
        start_delay: float | str | None = None,
        execution_timeout: float | str | None = None,
        run_timeout: float | str | None = None,
        **camel: Any,
    ) -> WorkflowHandle[Any]: ...

    @overload
    async def start(
        self,
        /,
        args: list[Any] | None = None,
        task_queue: str | None = None,
        *,
        workflow_name: Callable[..., Awaitable[R]],
        workflow_id: str | None = None,
        expire: float | str | None = None,
        search: Mapping[str, Any] | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        signal_in: bool = False,
        parent_workflow_id: str | None = None,
        origin_job_id: str | None = None,
        start_delay: float | str | None = None,
        execution_timeout: float | str | None = None,
        run_timeout: float | str | None = None,
        **camel: Any,
    ) -> WorkflowHandle[R]: ...

    @overload
    async def start(
        self,
        /,
        args: list[Any] | None = None,
        task_queue: str | None = None,
        workflow_name: str | Callable[..., Any] | None = None,
        workflow_id: str | None = None,
        *,
        expire: float | str | None = None,
        search: Mapping[str, Any] | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        signal_in: bool = False,
        parent_workflow_id: str | None = None,
        origin_job_id: str | None = None,
        start_delay: float | str | None = None,
        execution_timeout: float | str | None = None,
        run_timeout: float | str | None = None,
        **camel: Any,
    ) -> WorkflowHandle[Any]: ...

    async def start(self, /, *given: Any, **options: Any) -> WorkflowHandle[Any]:
        """Start a workflow: ``start(order_workflow, "item-1", 5, task_queue="q")``
        (the function, or its name, then its arguments), or in the older form
        ``start(args=[...], task_queue="q", workflow_name=order_workflow)``.

        Started from the function, the handle is typed by its return type
        and ``result()`` is decoded into it. Arguments and search fields go
        through the client's data converter (``DataConversionError`` names
        the argument a value of an unsupported type was given for).
        ``DuplicateWorkflowError`` if a workflow with that id is live.
        """
        if given and (callable(given[0]) or isinstance(given[0], str)):
            if "args" in options or "workflow_name" in options:
                raise errors.ConfigError(
                    "workflow.start(workflow, *args): the arguments follow the "
                    "workflow; 'args=' and 'workflow_name=' belong to the form "
                    "start(args=[...], task_queue=..., workflow_name=...)"
                )
            return await self._intercepted(given[0], list(given[1:]), options)
        names = ("args", "task_queue", "workflow_name", "workflow_id")
        if len(given) > len(names):
            raise errors.ConfigError(
                "workflow.start takes the workflow first, then its arguments: "
                "start(order_workflow, 'item-1', 5, task_queue='q')"
            )
        for name, value in zip(names, given, strict=False):
            if name in options:
                raise errors.ConfigError(f"workflow.start: '{name}' given twice")
            options[name] = value
        args = list(options.pop("args", None) or [])
        workflow = options.pop("workflow_name", None) or options.pop(
            "workflowName", None
        )
        return await self._intercepted(workflow, args, options)

    async def _intercepted(
        self, workflow: Any, args: list[Any], options: dict[str, Any]
    ) -> WorkflowHandle[Any]:
        given = _interceptors.StartWorkflowInput(workflow, args, options)
        return await self._client.outbound.start_workflow(given)

    async def _start(
        self,
        args: list[Any],
        task_queue: str | None = None,
        workflow_name: str | Callable[..., Any] | None = None,
        workflow_id: str | None = None,
        *,
        expire: float | str | None = None,
        search: Mapping[str, Any] | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        signal_in: bool = False,
        parent_workflow_id: str | None = None,
        origin_job_id: str | None = None,
        start_delay: float | str | None = None,
        execution_timeout: float | str | None = None,
        run_timeout: float | str | None = None,
        **camel: Any,
    ) -> WorkflowHandle[Any]:
        """Start ``workflow_name`` on ``task_queue``.

        ``start_delay`` (seconds or ``"10m"``) creates the workflow now, status
        "scheduled", and runs it after that long (``pub(..., delay=)``).
        ``execution_timeout`` (from the start, over every retry and
        ``continue_as_new``) and ``run_timeout`` (each run) end a workflow that
        runs longer: status "timed_out", ``WorkflowTimedOutError``.
        Upstream's camelCase names (``taskQueue``, ``workflowId``, …) are
        accepted; any other keyword is a ``ConfigError`` ("did you mean").
        """
        check_keys(camel, START_OPTIONS, "workflow.start")
        start_delay = (
            start_delay if start_delay is not None else camel.get("startDelay")
        )
        task_queue = task_queue or camel.get("taskQueue")
        workflow_name = workflow_name or camel.get("workflowName")
        workflow_id = workflow_id or camel.get("workflowId")
        retry_policy = retry_policy or camel.get("retryPolicy")
        parent_workflow_id = parent_workflow_id or camel.get("parentWorkflowId")
        origin_job_id = origin_job_id or camel.get("originJobId")
        fn = workflow_function(workflow_name) if callable(workflow_name) else None
        if fn is not None:
            workflow_name = fn.__name__
        if not task_queue or not workflow_name:
            raise errors.ConfigError("start needs a task_queue and a workflow_name")
        conv = self._client.converter
        what = f"workflow '{workflow_name}'"
        arguments = encode_args(conv, fn, list(args), what)
        fields = {
            f"_{k}": conv.to_json(v, f"{what} search field '{k}'")
            for k, v in (search or {}).items()
        }
        codec = self._client.codec
        arguments = await _codec.seal(codec, arguments)
        fields = {k: await _codec.seal(codec, v) for k, v in fields.items()}
        hm = await self._client.mesh()
        payload: dict[str, Any] = {
            "arguments": arguments,
            "workflowName": workflow_name,
            "taskQueue": task_queue,
            "expire": seconds(expire) if expire is not None else 60.0,
        }
        workflow_id = workflow_id or new_job_id()
        payload["workflowId"] = workflow_id
        if fields:
            payload["search"] = fields
        if retry_policy:
            payload["retry"] = _camel_policy(retry_policy)
        if signal_in or camel.get("signalIn"):
            payload["signalIn"] = True
        if parent_workflow_id:
            payload["parentWorkflowId"] = parent_workflow_id
        if origin_job_id:
            payload["originJobId"] = origin_job_id
        await _timeouts.arm_start(
            hm,
            self._client.namespace,
            payload,
            execution_timeout,
            run_timeout,
            start_delay,
        )
        handle: WorkflowHandle[Any] = self.handle_type(
            self._client, task_queue, str(workflow_name), workflow_id, fn
        )
        handle._watch(hm)
        try:
            await hm.pub(
                f"{self._client.namespace}.execute", payload, delay=start_delay
            )
        except BaseException as exc:
            assert handle._watching is not None
            _fut, topic, done = handle._watching
            handle._unwatch(hm, topic, done)
            if isinstance(exc, errors.DuplicateJobError):
                raise errors.DuplicateWorkflowError(workflow_id) from None
            raise
        return handle

    @overload
    async def execute(
        self, workflow: Callable[..., Awaitable[R]], /, *args: Any, **options: Any
    ) -> R: ...

    @overload
    async def execute(self, *args: Any, **options: Any) -> Any: ...

    async def execute(self, *args: Any, **options: Any) -> Any:
        """``start`` then ``result``: run a workflow and return its value."""
        handle = await self.start(*args, **options)
        return await handle.result()

    async def start_update_with_start(
        self,
        update: str | Callable[..., Any],
        *args: Any,
        update_id: str | None = None,
        **start: Any,
    ) -> _updates.UpdateHandle:
        """Start the workflow ``start`` describes (``start``'s keywords, with a
        ``workflow_id``) unless one with that id is live, then send it update
        ``update``; ``await h.result()`` for the update's outcome."""
        return await _updates.with_start(self, update, list(args), update_id, start)

    async def execute_update_with_start(
        self,
        update: str | Callable[..., Any],
        *args: Any,
        update_id: str | None = None,
        timeout: float | None = None,
        **start: Any,
    ) -> Any:
        """``start_update_with_start``, then the update handler's value."""
        sent = await _updates.with_start(self, update, list(args), update_id, start)
        return await sent.result(timeout)

    @overload
    def get_handle(
        self,
        task_queue: str,
        workflow_name: Callable[..., Awaitable[R]],
        workflow_id: str,
    ) -> WorkflowHandle[R]: ...

    @overload
    def get_handle(
        self, task_queue: str, workflow_name: str | type[Any], workflow_id: str
    ) -> WorkflowHandle[Any]: ...

    def get_handle(
        self, task_queue: str, workflow_name: Any, workflow_id: str
    ) -> WorkflowHandle[Any]:
        """A handle on an existing workflow (any process may have started it);
        given the workflow function, ``result()`` is typed and decoded as its
        return type."""
        fn = workflow_function(workflow_name) if callable(workflow_name) else None
        name = fn.__name__ if fn is not None else str(workflow_name)
        return self.handle_type(self._client, task_queue, name, workflow_id, fn)

    async def signal(
        self, signal_id: str, data: Any = None, workflow_id: str | None = None
    ) -> None:
        """Deliver ``data`` to ``wait_for(signal_id)`` of workflow ``workflow_id``."""
        if not workflow_id:
            raise errors.ConfigError(
                "signal ids are scoped per workflow: pass workflow_id"
            )
        hm = await self._client.mesh()
        send = getattr(hm, "signal", None)
        if send is None:
            raise errors.WorkflowError("this engine cannot deliver signals yet")
        # Kept until the wait registers while the workflow runs; refused
        # (JobInactiveError) once it has ended.
        data = self._client.converter.to_json(data, f"signal '{signal_id}' data")
        data = await _codec.seal(self._client.codec, data)
        await send(
            f"{self._client.namespace}.wfs.wait",
            {"id": signal_key(workflow_id, signal_id), "data": data},
            job_id=workflow_id,
        )

    async def hook(
        self,
        workflow_id: str,
        workflow_name: str | Any,
        args: list[Any] | None = None,
        task_queue: str | None = None,
        hook_id: str | None = None,
    ) -> str:
        """Run hook function ``workflow_name`` inside workflow ``workflow_id``'s job.

        The workflow must have been started with ``signal_in=True``; returns
        the hook id. The hook shares the workflow's search fields and signals.
        """
        fn = workflow_name if callable(workflow_name) else None
        if fn is not None:
            workflow_name = fn.__name__
        sent = encode_args(
            self._client.converter, fn, list(args or []), f"hook '{workflow_name}'"
        )
        sealed = await _codec.seal(self._client.codec, sent)
        hm = await self._client.mesh()
        job = await hm.engine.read(workflow_id)
        if job is None:
            raise errors.JobNotFoundError(workflow_id)
        queue = task_queue or str(job.data.get("taskQueue"))
        return await _worker.send_hook(
            hm,
            self._client.namespace,
            workflow_id,
            str(workflow_name),
            sealed,
            queue,
            hook_id,
        )

    async def search(
        self,
        task_queue: str | None = None,
        workflow_name: str | None = None,
        fields: Mapping[str, Any] | None = None,
        limit: int = 1000,
    ) -> list[WorkflowHandle[Any]]:
        """Live workflows whose search fields equal ``fields`` (``search().set``)."""
        hm = await self._client.mesh()
        conv = self._client.converter
        # with a codec, only a deterministic one (same bytes for the same
        # value) can find a stored field by its value
        wanted = {
            f"_{k}": await _codec.seal(
                self._client.codec, conv.to_json(v, f"search field '{k}'")
            )
            for k, v in (fields or {}).items()
        }
        ids = await hm.store.search_jobs(
            self._client.namespace,
            f"{self._client.namespace}.execute",
            wanted,
            task_queue,
            workflow_name,
            limit,
        )
        return [
            self.handle_type(
                self._client, task_queue or "", workflow_name or "", job_id
            )
            for job_id in ids
        ]

    getHandle = get_handle


class Client:
    """``MemFlow.Client({"connection": {"dsn": ...}, "namespace"?: ...})``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        _config.check_config(config, _config.CLIENT_KEYS, "Client")
        self.config = dict(config)
        #: values to JSON and back (``data_converter`` in the config)
        self.converter = _config.converter_of(config)
        #: payloads stored encoded (``codec`` in the config), or None
        self.codec = _codec.check(config.get("codec"), "Client")
        self.namespace = _config.namespace_of(config)
        #: ``interceptors`` in the config: the outbound calls' chain
        self.interceptors = _interceptors.check(config.get("interceptors"), "Client")
        self.outbound = _interceptors.client_chain(self, self.interceptors)
        self.workflow = WorkflowClient(self)
        #: durable cron/interval schedules that start workflows
        self.schedule = ScheduleClient(self)
        self._conn: _worker.Connection | None = None
        self._lock = asyncio.Lock()

    async def mesh(self) -> HotMesh:
        """The process's HotMesh for this database (opened and deployed on first use)."""
        async with self._lock:
            if self._conn is None:
                self._conn, _ = await _worker.connect(self.config)
            return self._conn.mesh

    async def list_workflows(
        self,
        workflow_name: str | None = None,
        status: str | None = None,
        task_queue: str | None = None,
        started_after: Any = None,
        started_before: Any = None,
        search: Mapping[str, Any] | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> _manage.WorkflowPage:
        """Workflows newest first, each with its ``status`` (running, completed,
        failed, cancelled, terminated); ``page.cursor`` gives the next page."""
        filters = {
            "workflow_name": workflow_name,
            "status": status,
            "task_queue": task_queue,
            "started_after": started_after,
            "started_before": started_before,
            "search": search,
        }
        return await _manage.list_workflows(self, filters, limit, cursor)

    async def cancel_workflows(self, filters: Mapping[str, Any]) -> dict[str, int]:
        """Cancel every running workflow matching ``filters`` (the keyword
        filters of ``list_workflows``): ``{matched, cancelled, skipped}``."""
        return await _manage.bulk(self, filters, "cancel")

    async def terminate_workflows(self, filters: Mapping[str, Any]) -> dict[str, int]:
        """Terminate every running workflow matching ``filters``:
        ``{matched, terminated, skipped}``."""
        return await _manage.bulk(self, filters, "terminate")

    async def complete_activity(
        self, task_token: bytes | str, result: Any = None
    ) -> None:
        """Answer an activity that called ``activity.raise_complete_async()``
        with ``result``, from any process; ``ActivityTokenError`` when the
        token is not one, or its activity is no longer waiting."""
        hm = await self.mesh()
        value = self.converter.to_json(result, "complete_activity result")
        value = await _codec.seal(self.codec, value)
        await _completion.answer(hm, self.namespace, task_token, {"data": value})

    async def heartbeat_activity(self, task_token: bytes | str, *details: Any) -> None:
        """Heartbeat for an activity completed from outside (its details reach
        a later attempt); ``ActivityCancelledError`` once its workflow is
        cancelled or has ended."""
        await _completion.beat(
            await self.mesh(), self.namespace, task_token, list(details)
        )

    async def fail_activity(self, task_token: bytes | str, error: Any) -> None:
        """Fail such an activity with ``error`` (an exception or a message):
        the workflow's call raises ``ActivityFailedError`` (not retried)."""
        hm = await self.mesh()
        failure = {"error": _completion.failure_of(error)}
        await _completion.answer(hm, self.namespace, task_token, failure)

    async def reset(
        self,
        workflow_id: str,
        to_step: int | None = None,
        to_last_failure: bool = False,
        reason: str | None = None,
    ) -> WorkflowHandle[Any]:
        """Re-run a workflow from step ``to_step`` or its last failed step, as a
        new run (``handle.run_id``); see ``hotmesh.memflow.reset``."""
        return await _reset.reset(self, workflow_id, to_step, to_last_failure, reason)

    async def close(self) -> None:
        """Give up this client's share of the connection."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.release([])

    async def __aenter__(self) -> Self:
        """``async with Client(config) as client:`` closes it when the block ends."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
