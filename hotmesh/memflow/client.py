"""The MemFlow client: start workflows, get handles, await results, signal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, Self, TypeVar, cast, overload

from hotmesh import errors
from hotmesh.durations import seconds
from hotmesh.engine import step
from hotmesh.engine.engine import finished
from hotmesh.engine.options import check_keys
from hotmesh.engine.retry import RetryPolicy
from hotmesh.engine.step import new_job_id
from hotmesh.memflow import completion as _completion
from hotmesh.memflow import manage as _manage
from hotmesh.memflow import outcomes as _outcomes
from hotmesh.memflow import replay as _replay
from hotmesh.memflow import reset as _reset
from hotmesh.memflow import timeouts as _timeouts
from hotmesh.memflow import updates as _updates
from hotmesh.memflow import worker as _worker
from hotmesh.memflow.classes import workflow_function
from hotmesh.memflow.proxy import make_policy
from hotmesh.memflow.schedules import ScheduleClient
from hotmesh.memflow.workflow import signal_key
from hotmesh.mesh import HotMesh
from hotmesh.store.records import JobRow


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


class WorkflowHandle(Generic[R]):
    """A started workflow, from any process: result, status, state, signal, interrupt.

    Started from a workflow function (``workflow_name=my_flow``), ``result()``
    is typed as that function's return type.
    """

    def __init__(
        self, client: Client, task_queue: str, workflow_name: str, workflow_id: str
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.workflow_name = workflow_name
        self.workflow_id = workflow_id
        #: the run this handle follows, when known (``client.reset`` sets it)
        self.run_id: str | None = None
        self._watching: tuple[asyncio.Future[dict[str, Any]], str, Any] | None = None

    async def _read(self) -> JobRow:
        hm = await self.client.mesh()
        job = await hm.engine.read(self.workflow_id, include_expired=True)
        if job is None:
            raise errors.JobNotFoundError(self.workflow_id)
        return job

    def _watch(self, hm: HotMesh) -> None:
        """Subscribe to the completion (before starting: it cannot slip past)."""
        if self._watching is not None:
            return
        topic = f"{self.client.namespace}.executed.{self.workflow_id}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def done(_topic: str, output: dict[str, Any]) -> None:
            if not fut.done():
                fut.set_result(output)
            self._unwatch(hm, topic, done)

        hm.subscriptions.add(topic, done)
        self._watching = (fut, topic, done)

    @staticmethod
    def _unwatch(hm: HotMesh, topic: str, callback: Any) -> None:
        hm.subscriptions.remove(topic, callback)

    async def result(
        self, timeout: float | None = None, throw_on_error: bool = True
    ) -> R:
        """The workflow's return value; its failure raises ``WorkflowFailedError``.

        Waits on the completion notification, re-reading the job now and then
        in case a notification was missed.
        """
        hm = await self.client.mesh()
        fresh = self._watching is not None  # subscribed before the start
        self._watch(hm)
        assert self._watching is not None
        fut, topic, done = self._watching
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        recheck = 0.5
        try:
            while True:
                if not fresh:
                    job = await self._read()
                    if finished(job):
                        output = step.job_output(job)
                        break
                fresh = False
                wait = recheck
                if deadline is not None:
                    wait = min(wait, deadline - loop.time())
                    if wait <= 0:
                        raise errors.JobTimeoutError(self.workflow_id, timeout or 0)
                try:
                    output = await asyncio.wait_for(asyncio.shield(fut), wait)
                    break
                except TimeoutError:
                    recheck = min(recheck * 2, 30.0)
        finally:
            self._watching = None
            self._unwatch(hm, topic, done)
        if output["metadata"].get("err") is not None:
            failure = _outcomes.remote_error(self.workflow_id, output)
            if throw_on_error:
                raise failure
            # typed for the success path: without throw_on_error a failure is a dict
            return cast(R, {"error": str(failure)})
        return cast(R, (output.get("data") or {}).get("response"))

    async def status(self) -> int:
        """The job semaphore: > 0 running, 0 done, < 0 interrupted."""
        return (await self._read()).status

    async def state(self) -> dict[str, Any]:
        """The workflow job's public data (``response``, ``done``, …)."""
        return step.job_output(await self._read()).get("data") or {}

    async def query_state(self, fields: list[str]) -> dict[str, Any]:
        """Selected job data fields; a search field may be named without its ``_``."""
        data = (await self._read()).data
        out: dict[str, Any] = {}
        for name in fields:
            out[name] = data.get(name, data.get(f"_{name}"))
        return out

    async def search_fields(self) -> dict[str, Any]:
        """Every search field of this workflow (``search().set`` / ``enrich``)."""
        data = (await self._read()).data
        return {k[1:]: v for k, v in data.items() if k.startswith("_")}

    async def signal(self, name: str | Callable[..., Any], *args: Any) -> None:
        """Send signal ``name``: its handler runs with ``*args`` (kept until one is
        registered), and a ``wait_for(name)`` gets the one argument (or None,
        or the list of them)."""
        await _updates.signal(self, name, list(args))

    async def query(self, name: str | Callable[..., Any], *args: Any) -> Any:
        """The query handler's answer on the state the recorded history rebuilds:
        no side effects, nothing recorded, finished workflows too."""
        return await _updates.query(self, name, list(args))

    async def start_update(
        self, name: str | Callable[..., Any], *args: Any, update_id: str | None = None
    ) -> _updates.UpdateHandle:
        """Send update ``name`` (validated first); ``await h.result()`` for its
        outcome. The same ``update_id`` again adds nothing: one application."""
        return await _updates.start_update(self, name, list(args), update_id)

    async def execute_update(
        self,
        name: str | Callable[..., Any],
        *args: Any,
        update_id: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Apply update ``name`` and return its handler's value (its error raises
        ``UpdateFailedError``; a validator's refusal ``UpdateRejectedError``)."""
        update = await _updates.start_update(self, name, list(args), update_id)
        return await update.result(timeout)

    async def interrupt(self, reason: str | None = None, **options: Any) -> None:
        """Terminate the workflow (its result then raises, code 410 by default)."""
        hm = await self.client.mesh()
        stop = getattr(hm, "interrupt", None)
        if stop is None:
            raise errors.WorkflowError("this engine cannot interrupt jobs yet")
        await stop(
            f"{self.client.namespace}.execute",
            self.workflow_id,
            reason=reason,
            **options,
        )

    async def terminate(self, reason: str | None = None, **options: Any) -> None:
        """Stop the workflow at once, no cleanup (``interrupt``): its result
        raises ``WorkflowTerminatedError``."""
        await self.interrupt(reason, **options)

    async def cancel(self, reason: str | None = None) -> None:
        """Ask the workflow to cancel: ``asyncio.CancelledError`` is raised in it
        at its next await point, so ``try``/``finally`` cleanup runs (see
        ``MemFlow.workflow.shielded``). ``JobInactiveError`` once it ended."""
        await _updates.cancel(self, reason)

    async def describe(self) -> dict[str, Any]:
        """``status`` (running, completed, failed, cancelled, terminated, timed_out),
        ``started_at``, ``updated_at``, ``pending`` (steps still open),
        ``search`` fields, ``error``, name and task queue."""
        return await _manage.describe(self)

    async def fetch_history(self) -> dict[str, Any]:
        """The workflow's recorded history, as JSON-ready data, for
        ``MemFlow.Replayer(workflows=[...]).replay(history)``."""
        return await _replay.fetch(self)

    async def export(self) -> dict[str, Any]:
        """The job's execution history."""
        hm = await self.client.mesh()
        return await hm.export(self.workflow_id)

    queryState = query_state
    executeUpdate = execute_update
    startUpdate = start_update


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

    async def start(
        self,
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
    ) -> WorkflowHandle[Any]:
        """Start ``workflow_name`` on ``task_queue``; ``DuplicateWorkflowError`` if live.

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
        if callable(workflow_name):
            workflow_name = workflow_function(workflow_name).__name__
        if not task_queue or not workflow_name:
            raise errors.ConfigError("start needs a task_queue and a workflow_name")
        hm = await self._client.mesh()
        payload: dict[str, Any] = {
            "arguments": list(args or []),
            "workflowName": workflow_name,
            "taskQueue": task_queue,
            "expire": seconds(expire) if expire is not None else 60.0,
        }
        workflow_id = workflow_id or new_job_id()
        payload["workflowId"] = workflow_id
        if search:
            payload["search"] = {f"_{k}": v for k, v in search.items()}
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
            self._client, task_queue, str(workflow_name), workflow_id
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

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        """``start`` then ``result``: run a workflow and return its value."""
        handle = await self.start(*args, **kwargs)
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

    def get_handle(
        self, task_queue: str, workflow_name: str, workflow_id: str
    ) -> WorkflowHandle[Any]:
        """A handle on an existing workflow (any process may have started it)."""
        return self.handle_type(self._client, task_queue, workflow_name, workflow_id)

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
        if callable(workflow_name):
            workflow_name = workflow_name.__name__
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
            list(args or []),
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
        wanted = {f"_{k}": v for k, v in (fields or {}).items()}
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
        _worker.check_config(config, _worker.CLIENT_KEYS, "Client")
        self.config = dict(config)
        self.namespace = _worker.namespace_of(config)
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
        await _completion.answer(hm, self.namespace, task_token, {"data": result})

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
