"""A handle on a started MemFlow workflow: its result, state, signals,
queries, updates, cancellation."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from hotmesh import errors
from hotmesh.engine import step
from hotmesh.engine.engine import finished
from hotmesh.memflow import closing
from hotmesh.memflow import codec as _codec
from hotmesh.memflow import entity as _entity
from hotmesh.memflow import interceptors as _interceptors
from hotmesh.memflow import manage as _manage
from hotmesh.memflow import outcomes as _outcomes
from hotmesh.memflow import replay as _replay
from hotmesh.memflow import updates as _updates
from hotmesh.memflow.signatures import decode_result
from hotmesh.mesh import HotMesh
from hotmesh.store.records import JobRow

if TYPE_CHECKING:
    from hotmesh.memflow.client import Client

R = TypeVar("R")


class WorkflowHandle(Generic[R]):
    """A started workflow, from any process: result, status, state, signal, interrupt.

    Started from a workflow function (``workflow_name=my_flow``), ``result()``
    is typed as that function's return type.
    """

    def __init__(
        self,
        client: Client,
        task_queue: str,
        workflow_name: str,
        workflow_id: str,
        workflow: Callable[..., Any] | None = None,
    ) -> None:
        self.client = client
        #: the workflow function, when known: ``result()`` is decoded as its
        #: declared return type
        self.workflow = workflow
        #: the run this handle follows, when known (``client.reset`` sets it)
        self.run_id: str | None = None
        self.task_queue = task_queue
        self.workflow_name = workflow_name
        self.workflow_id = workflow_id
        self._watching: tuple[asyncio.Future[dict[str, Any]], str, Any] | None = None
        #: ends the watch: by ``result()``, or when the handle is let go
        self._forget: weakref.finalize[Any, Any] | None = None

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
        subs = hm.subscriptions

        def done(_topic: str, output: dict[str, Any]) -> None:
            if not fut.done():
                fut.set_result(output)
            subs.remove(topic, done)

        subs.add(topic, done)
        self._watching = (fut, topic, done)
        # A handle let go unread (a workflow started and forgotten) takes its
        # watch along: a workflow asleep for a month holds nothing here (issue
        # 21). ``done`` does not hold the handle, so dropping it frees it.
        self._forget = weakref.finalize(self, subs.remove, topic, done)

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
        fut = self._watching[0]
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
            if self._forget is not None:
                self._forget()  # unsubscribes, once
        if output["metadata"].get("err") is not None:
            failure = _outcomes.remote_error(self.workflow_id, output)
            if throw_on_error:
                raise failure
            # typed for the success path: without throw_on_error a failure is a dict
            return cast(R, {"error": str(failure)})
        response = (output.get("data") or {}).get("response")
        response = await _codec.unseal_tree(self.client.codec, response)
        what = f"workflow '{self.workflow_name}'"
        return cast(
            R, decode_result(self.client.converter, self.workflow, response, what)
        )

    async def status(self) -> int:
        """The job semaphore: > 0 running, 0 done, < 0 interrupted."""
        return (await self._read()).status

    async def state(self) -> dict[str, Any]:
        """The workflow job's public data (``response``, ``done``, …)."""
        data = step.job_output(await self._read()).get("data") or {}
        return dict(await self._open(data))

    async def _open(self, data: Any) -> Any:
        """Stored payloads decoded with the client's codec (as stored without one)."""
        if self.client.codec is None:
            return data
        return await _codec.unseal_tree(self.client.codec, data)

    async def query_state(self, fields: list[str]) -> dict[str, Any]:
        """Selected job data fields; a search field may be named without its ``_``."""
        data = await self._open((await self._read()).data)
        out: dict[str, Any] = {}
        for name in fields:
            out[name] = data.get(name, data.get(f"_{name}"))
        return out

    async def search_fields(self) -> dict[str, Any]:
        """Every search field of this workflow (``search().set`` / ``enrich``)."""
        data = await self._open((await self._read()).data)
        return {k[1:]: v for k, v in data.items() if k.startswith("_")}

    async def signal(self, name: str | Callable[..., Any], *args: Any) -> None:
        """Send signal ``name``: its handler runs with ``*args`` (kept until one is
        registered), and a ``wait_for(name)`` gets the one argument (or None,
        or the list of them)."""
        given = _interceptors.SignalWorkflowInput(self, name, list(args))
        await self.client.outbound.signal_workflow(given)

    async def query(self, name: str | Callable[..., Any], *args: Any) -> Any:
        """The query handler's answer on the state the recorded history rebuilds:
        no side effects, nothing recorded, finished workflows too."""
        given = _interceptors.QueryWorkflowInput(self, name, list(args))
        return await self.client.outbound.query_workflow(given)

    async def start_update(
        self, name: str | Callable[..., Any], *args: Any, update_id: str | None = None
    ) -> _updates.UpdateHandle:
        """Send update ``name`` (validated first); ``await h.result()`` for its
        outcome. The same ``update_id`` again adds nothing: one application."""
        given = _interceptors.StartWorkflowUpdateInput(
            self, name, list(args), update_id
        )
        return await self.client.outbound.start_workflow_update(given)

    async def execute_update(
        self,
        name: str | Callable[..., Any],
        *args: Any,
        update_id: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Apply update ``name`` and return its handler's value (its error raises
        ``UpdateFailedError``; a validator's refusal ``UpdateRejectedError``)."""
        given = _interceptors.StartWorkflowUpdateInput(
            self, name, list(args), update_id, awaited=True
        )
        update = await self.client.outbound.start_workflow_update(given)
        return await update.result(timeout)

    async def interrupt(self, reason: str | None = None, **options: Any) -> None:
        """Terminate the workflow (its result then raises, code 410 by default);
        its children follow their ``parent_close_policy``."""
        hm = await self.client.mesh()
        ns = self.client.namespace
        await hm.interrupt(f"{ns}.execute", self.workflow_id, reason=reason, **options)
        await closing.close_children(hm, ns, self.workflow_id)

    async def terminate(self, reason: str | None = None, **options: Any) -> None:
        """Stop the workflow at once, no cleanup (``interrupt``): its result
        raises ``WorkflowTerminatedError``."""
        await self.interrupt(reason, **options)

    async def cancel(self, reason: str | None = None) -> None:
        """Ask the workflow to cancel: ``asyncio.CancelledError`` is raised in it
        at its next await point, so ``try``/``finally`` cleanup runs (see
        ``MemFlow.workflow.shielded``). ``JobInactiveError`` once it ended."""
        given = _interceptors.CancelWorkflowInput(self, reason)
        await self.client.outbound.cancel_workflow(given)

    async def describe(self) -> dict[str, Any]:
        """``status`` (running, completed, failed, cancelled, terminated, timed_out),
        ``started_at``, ``updated_at``, ``pending`` (steps still open),
        ``search`` fields, ``error``, name and task queue."""
        return await _manage.describe(self)

    async def export(self) -> dict[str, Any]:
        """The job's execution history."""
        hm = await self.client.mesh()
        return await hm.export(self.workflow_id)

    async def entity(self) -> dict[str, Any]:
        """The workflow's ``wf.entity()`` document as last recorded."""
        return _entity.stored_document(await self._open((await self._read()).data))

    async def fetch_history(self) -> dict[str, Any]:
        """The workflow's recorded history, as JSON-ready data, for
        ``MemFlow.Replayer(workflows=[...]).replay(history)``."""
        return dict(await self._open(await _replay.recorded_history(self)))

    queryState = query_state
    executeUpdate = execute_update
    startUpdate = start_update
