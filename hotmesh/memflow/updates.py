"""The client side of handlers: signals into the inbox, queries answered by a
replay, updates (validated, added once per id, their outcome awaited)."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from hotmesh import errors
from hotmesh.engine.effects import KeepRequest
from hotmesh.engine.engine import finished
from hotmesh.engine.payload import json_problem
from hotmesh.memflow import codec as _codec
from hotmesh.memflow import handlers, registry, runner
from hotmesh.memflow.classes import UPDATE_METHODS, handler_name, workflow_function
from hotmesh.memflow.converter import DataConverter
from hotmesh.memflow.handlers import HANDLERS_KEY, inbox_key, update_key
from hotmesh.memflow.signatures import decode_args, decode_result, encode_args
from hotmesh.memflow.worker import applied_topic, cancel_topic
from hotmesh.memflow.workflow import signal_key
from hotmesh.mesh import HotMesh
from hotmesh.store.messages import MessageRows
from hotmesh.store.records import JobRow

if TYPE_CHECKING:
    from hotmesh.memflow.client import WorkflowClient, WorkflowHandle

#: re-reading an update's outcome when no announcement came (one was missed:
#: a lost LISTEN connection, a worker killed after its commit): first and
#: longest pause (seconds)
POLL_FIRST, POLL_MAX = 0.05, 1.0


def _encode(
    handle: WorkflowHandle[Any], kind: str, name: Any, args: list[Any]
) -> list[Any]:
    """Arguments as JSON (with the client's converter), checked storable."""
    fn = name if callable(name) else None
    label = handler_name(name)
    sent = encode_args(handle.client.converter, fn, args, f"{kind} '{label}'")
    _check_args(kind, label, sent)
    return sent


def _decoded(handle: WorkflowHandle[Any], name: Any, value: Any, what: str) -> Any:
    """A handler's answer as its declared type (when given the handler itself)."""
    fn = name if callable(name) else None
    return decode_result(handle.client.converter, fn, value, what)


def _check_args(kind: str, name: str, args: list[Any]) -> None:
    problem = json_problem(args)
    if problem is not None:
        where = problem[0] or "/"
        raise errors.ConfigError(
            f"{kind} '{name}': argument at {where} cannot be stored: {problem[1]}"
        )


async def _job(handle: WorkflowHandle[Any], live: bool) -> tuple[HotMesh, JobRow]:
    hm = await handle.client.mesh()
    job = await hm.engine.read(handle.workflow_id, include_expired=not live)
    if job is None:
        raise errors.JobNotFoundError(handle.workflow_id)
    return hm, job


async def wake(hm: HotMesh, namespace: str, workflow_id: str) -> None:
    """Wake the workflow if it idles on its inbox; otherwise keep one wake for
    its next idle wait (one is enough: the activation reads the whole inbox)."""
    topic = f"{namespace}.wfs.wait"
    # at most one kept: a second is refused as beyond the key's bound
    once = KeepRequest(job_id=workflow_id, max_pending=1)
    try:
        await hm.engine.signal(
            topic, {"id": inbox_key(workflow_id), "data": None}, request=once
        )
    except (errors.SignalNotKeptError, errors.JobInactiveError):
        pass  # a wake is already kept, or the workflow has just ended


async def signal(handle: WorkflowHandle[Any], name: Any, args: list[Any]) -> None:
    """Deliver a signal: to the handler ``name`` (kept in the inbox until one is
    registered) and, as before handlers, to a ``wait_for(name)``."""
    args = _encode(handle, "signal", name, args)
    name = handler_name(name)
    ns = handle.client.namespace
    hm = await handle.client.mesh()
    job = await hm.engine.read(handle.workflow_id)
    if job is None or name not in (job.data.get(HANDLERS_KEY) or []):
        # as before handlers: SignalNotKeptError for an unknown workflow,
        # JobInactiveError for one that has ended
        data = args[0] if len(args) == 1 else (list(args) if args else None)
        data = await _codec.seal(handle.client.codec, data)
        await hm.signal(
            f"{ns}.wfs.wait",
            {"id": signal_key(handle.workflow_id, name), "data": data},
            job_id=handle.workflow_id,
        )
    sealed = await _codec.seal_each(handle.client.codec, list(args))
    added = await MessageRows(hm.store).add(
        ns, handle.workflow_id, "signal", name, sealed
    )
    if added is None:
        raise errors.JobInactiveError(handle.workflow_id)
    await wake(hm, ns, handle.workflow_id)


def _function(handle: WorkflowHandle[Any], job: JobRow, what: str) -> Any:
    ns = handle.client.namespace
    queue = str(job.data.get("taskQueue"))
    name = str(job.data.get("workflowName"))
    fn = registry.workflow(ns, queue, name)
    if fn is None:
        raise errors.WorkflowError(
            f"{what} replays workflow '{name}' here: register it in this process "
            f"first (Worker.create with task_queue '{queue}')"
        )
    return fn


async def query(handle: WorkflowHandle[Any], name: Any, args: list[Any]) -> Any:
    """Answer query ``name`` from the state the recorded history rebuilds."""
    given, args = name, _encode(handle, "query", name, args)
    name = handler_name(name)
    hm, job = await _job(handle, live=False)
    fn = _function(handle, job, f"query '{name}'")
    ns = handle.client.namespace
    value = await runner.query(
        ns,
        job.data,
        fn,
        name,
        args,
        reader=_reader(hm, ns, job),
        converter=handle.client.converter,
        codec=handle.client.codec,
    )
    return _decoded(handle, given, value, f"query '{name}'")


def _reader(hm: HotMesh, namespace: str, job: JobRow) -> handlers.Reader | None:
    """The inbox of a running workflow (a finished one takes no more messages)."""
    if finished(job):
        return None
    rows = MessageRows(hm.store)

    async def read(seq: int) -> list[dict[str, Any]]:
        return await rows.after(namespace, job.job_id, seq)

    return read


class UpdateHandle:
    """An update sent to a workflow: ``await result()`` for its outcome."""

    def __init__(
        self, handle: WorkflowHandle[Any], name: str, update_id: str, fn: Any = None
    ) -> None:
        self.handle = handle
        self._fn = fn
        self.name = name
        self.id = self.update_id = update_id
        self.workflow_id = handle.workflow_id
        #: set when the workflow announces outcomes committed, or its end
        self._told: asyncio.Event | None = None
        self._subs: list[tuple[str, Any]] = []
        #: sent just now under an id made here: no outcome to read yet
        self._fresh = False

    def _listen(self, hm: HotMesh) -> asyncio.Event:
        """Hear the workflow's announcements (from before the update is sent
        or the outcome first read, so none slips past)."""
        if self._told is not None:
            return self._told
        told = asyncio.Event()
        ns, wid = self.handle.client.namespace, self.workflow_id
        applied = applied_topic(ns)

        def heard(topic: str, message: Any) -> None:
            if topic != applied or (
                isinstance(message, dict) and message.get("id") == wid
            ):
                told.set()

        self._told, self._subs = (
            told,
            [(applied, heard), (f"{ns}.executed.{wid}", heard)],
        )
        for topic, callback in self._subs:
            hm.subscriptions.add(topic, callback)
        return told

    def _unlisten(self, hm: HotMesh) -> None:
        for topic, callback in self._subs:
            hm.subscriptions.remove(topic, callback)
        self._told, self._subs = None, []

    async def result(self, timeout: float | None = None) -> Any:
        """The handler's return value; its error raises ``UpdateFailedError``,
        a rejection ``UpdateRejectedError`` (``UnknownHandlerError`` for an
        unknown name)."""
        hm = await self.handle.client.mesh()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        pause = POLL_FIRST
        key = update_key(self.update_id)
        wid = self.workflow_id
        told = self._listen(hm)
        fresh, self._fresh = self._fresh, False
        try:
            while True:
                if not fresh:
                    told.clear()
                    job = await hm.engine.read(wid, include_expired=True)
                    if job is None:
                        raise errors.JobNotFoundError(wid)
                    outcome = job.data.get(key)
                    if isinstance(outcome, dict):
                        codec = self.handle.client.codec
                        outcome = await _codec.unseal_tree(codec, outcome)
                        return self._outcome(outcome)
                    if finished(job):
                        raise errors.UpdateFailedError(
                            wid,
                            self.name,
                            "WorkflowEnded",
                            "the workflow ended before the update was applied",
                        )
                fresh = False
                wait = pause
                if deadline is not None:
                    wait = min(wait, deadline - loop.time())
                    if wait <= 0:
                        raise errors.TimeoutError(
                            f"update '{self.name}' ({self.update_id}) of workflow "
                            f"'{wid}' had no outcome within {timeout} s"
                        )
                try:
                    await asyncio.wait_for(told.wait(), wait)
                except TimeoutError:  # none heard: read again, less often
                    pause = min(pause * 2, POLL_MAX)
        finally:
            self._unlisten(hm)

    def _outcome(self, outcome: dict[str, Any]) -> Any:
        error = outcome.get("error")
        if not error:
            what = f"update '{self.name}'"
            return _decoded(self.handle, self._fn, outcome.get("data"), what)
        kind = str(error.get("type") or "Error")
        message = str(error.get("message") or "")
        if outcome.get("rejected"):
            if kind == "UnknownHandlerError":
                failure = errors.UpdateRejectedError(
                    self.workflow_id, self.name, message
                )
                raise failure
            raise errors.UpdateRejectedError(
                self.workflow_id, self.name, f"{kind}: {message}"
            )
        raise errors.UpdateFailedError(self.workflow_id, self.name, kind, message)


def _unvalidated(fn: Any, name: str, args: list[Any], conv: DataConverter) -> bool:
    """A class's ``@update`` method without a validator: its arguments are
    checked here, with no replay (its cost grows with the history)."""
    static = getattr(fn, UPDATE_METHODS, None) or {}
    method, checked = static.get(name, (None, True))
    if checked:
        return False  # unknown here, or validated: on the replayed state
    decode_args(conv, method, list(args), f"update '{name}'")
    return True


async def start_update(
    handle: WorkflowHandle[Any],
    name: Any,
    args: list[Any],
    update_id: str | None = None,
    awaited: bool = False,
) -> UpdateHandle:
    """Validate (on a replay, when the workflow is registered here), then add the
    update to the inbox once per id, and wake the workflow. ``awaited``: its
    ``result()`` follows at once (it listens from before the send, so its
    first read waits for the workflow's announcement)."""
    given, args = name, _encode(handle, "update", name, args)
    name = handler_name(name)
    ns = handle.client.namespace
    hm, job = await _job(handle, live=False)
    retry = update_id is not None
    update_id = update_id or uuid.uuid4().hex
    ours = UpdateHandle(handle, name, update_id, given if callable(given) else None)
    if update_key(update_id) in job.data:
        return ours  # done before: a retry gets the same outcome
    rows = MessageRows(hm.store)
    if finished(job):
        raise errors.JobInactiveError(handle.workflow_id)
    # an id made here now cannot be in the inbox yet: one round trip saved
    seen = await rows.find(ns, handle.workflow_id, update_id) if retry else None
    if seen is None:
        fn = registry.workflow(
            ns, str(job.data.get("taskQueue")), str(job.data.get("workflowName"))
        )
        conv = handle.client.converter
        # else the workflow validates it (and records a rejection)
        if fn is not None and not _unvalidated(fn, name, args, conv):
            await runner.query(
                ns,
                job.data,
                fn,
                name,
                list(args),
                update=True,
                reader=_reader(hm, ns, job),
                converter=handle.client.converter,
                codec=handle.client.codec,
            )
        sealed = await _codec.seal_each(handle.client.codec, args)
        if awaited and not retry:
            ours._listen(hm)
        try:
            added = await rows.add(
                ns, handle.workflow_id, "update", name, sealed, update_id
            )
            if added is None:
                raise errors.JobInactiveError(handle.workflow_id)
            ours._fresh = awaited and not retry
            await wake(hm, ns, handle.workflow_id)
        except BaseException:
            ours._unlisten(hm)
            raise
        return ours
    await wake(hm, ns, handle.workflow_id)
    return ours


async def cancel(handle: WorkflowHandle[Any], reason: str | None) -> None:
    """Add a cancellation request to the inbox (once: a second one adds
    nothing) and wake the workflow."""
    hm = await handle.client.mesh()
    await request_cancel(hm, handle.client.namespace, handle.workflow_id, reason)


async def request_cancel(
    hm: HotMesh, namespace: str, workflow_id: str, reason: str | None
) -> None:
    """``cancel`` by workflow id (a closing parent's ``request_cancel`` policy)."""
    job = await hm.engine.read(workflow_id, include_expired=True)
    if job is None:
        raise errors.JobNotFoundError(workflow_id)
    ended = "nothing to cancel (the workflow has ended)"
    if finished(job):
        raise errors.JobInactiveError(workflow_id, ended)
    added = await MessageRows(hm.store).add(
        namespace, workflow_id, "cancel", "cancel", [reason], "$cancel"
    )
    if added is None:
        raise errors.JobInactiveError(workflow_id, ended)
    # a workflow without handlers reads its inbox only when told (every
    # process hears this; one that starts later reads the pending ones)
    await hm.publish(cancel_topic(namespace), {"id": workflow_id})
    await wake(hm, namespace, workflow_id)


async def with_start(
    workflows: WorkflowClient,
    name: Any,
    args: list[Any],
    update_id: str | None,
    start: dict[str, Any],
) -> UpdateHandle:
    """Update-with-start: start the workflow ``start`` describes (the keywords
    of ``workflow.start``) unless one with its id is live, then send the
    update to it. A refused update leaves a started workflow running (as
    Temporal's)."""
    workflow_id = start.get("workflow_id") or start.get("workflowId")
    if not workflow_id:
        raise errors.ConfigError(
            "update-with-start needs the workflow_id of the workflow to start "
            "or to update"
        )
    try:
        handle = await workflows.start(**start)
    except errors.DuplicateWorkflowError:  # live: the update goes to it
        fn = start.get("workflow_name") or start.get("workflowName")
        handle = workflows.get_handle(
            str(start.get("task_queue") or start.get("taskQueue") or ""),
            workflow_function(fn).__name__ if callable(fn) else str(fn or ""),
            str(workflow_id),
        )
    return await handle.start_update(name, *args, update_id=update_id)
