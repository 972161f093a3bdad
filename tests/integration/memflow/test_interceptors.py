"""Interceptors (issue 23): the client's outbound calls and the activities'
execution pass through the configured chain, in the documented order, on
real PostgreSQL."""

from __future__ import annotations

import re
from typing import Any, NoReturn

import pytest

from hotmesh import MemFlow, errors
from hotmesh.memflow import activity
from hotmesh.memflow.interceptors import (
    ActivityInboundInterceptor,
    CancelWorkflowInput,
    ClientOutboundInterceptor,
    ContinueAsNewInput,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    HandleQueryInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    QueryWorkflowInput,
    SignalWorkflowInput,
    SleepInput,
    StartActivityInput,
    StartChildWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from hotmesh.memflow.updates import UpdateHandle
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow


async def shout(text: str) -> str:
    return text.upper()


def whisper(text: str) -> str:  # sync: runs in a thread, through the chain too
    return f"{text.lower()} ({activity.info().activity_type})"


async def cart(owner: str) -> dict[str, Any]:
    """Signals add items, a query reads them, an update sets the quantity."""
    items: list[str] = []
    state = {"qty": 1, "done": False}

    def set_qty(qty: int) -> int:
        state["qty"] = qty
        return qty

    wf.set_signal_handler("add", items.append)
    wf.set_signal_handler("checkout", lambda: state.update(done=True))
    wf.set_query_handler("items", lambda: list(items))
    wf.set_update_handler("set_qty", set_qty)
    acts = wf.proxy_activities(activities={"shout": shout, "whisper": whisper})
    loud = await acts.shout(owner)
    quiet = await acts.whisper(owner)
    await wf.wait_condition(lambda: bool(state["done"]))
    return {"owner": loud, "quiet": quiet, "items": items, "qty": state["qty"]}


class Recorder(Interceptor):
    """Logs every hook, before and after the rest of the chain, as ``tag``."""

    def __init__(self, tag: str, log: list[str]) -> None:
        self.tag, self.log = tag, log

    def intercept_client(
        self, next: ClientOutboundInterceptor
    ) -> ClientOutboundInterceptor:
        return _RecordClient(self, next)

    def intercept_activity(
        self, next: ActivityInboundInterceptor
    ) -> ActivityInboundInterceptor:
        return _RecordActivity(self, next)


class _RecordClient(ClientOutboundInterceptor):
    def __init__(self, rec: Recorder, next: ClientOutboundInterceptor) -> None:
        super().__init__(next)
        self.rec = rec

    def _note(self, what: str) -> None:
        self.rec.log.append(f"{self.rec.tag} {what}")

    async def start_workflow(self, input: StartWorkflowInput) -> Any:
        self._note(f"start {input.args}")
        handle = await self.next.start_workflow(input)
        self._note("start done")
        return handle

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        self._note(f"signal {input.signal}")
        await self.next.signal_workflow(input)

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        self._note(f"query {input.query}")
        return await self.next.query_workflow(input)

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> UpdateHandle:
        self._note(f"update {input.update}")
        return await self.next.start_workflow_update(input)

    async def cancel_workflow(self, input: CancelWorkflowInput) -> None:
        self._note(f"cancel {input.reason}")
        await self.next.cancel_workflow(input)


class _RecordActivity(ActivityInboundInterceptor):
    def __init__(self, rec: Recorder, next: ActivityInboundInterceptor) -> None:
        super().__init__(next)
        self.rec = rec

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        # runs inside the activity's context
        name = activity.info().activity_type
        self.rec.log.append(f"{self.rec.tag} activity {name} {input.args}")
        value = await self.next.execute_activity(input)
        self.rec.log.append(f"{self.rec.tag} activity {name} -> {value}")
        return value


async def test_every_hook_runs_once_in_order_first_interceptor_outermost(
    mf: Env,
) -> None:
    client_log: list[str] = []
    worker_log: list[str] = []
    client = MemFlow.Client(
        {
            "connection": mf.conn,
            "interceptors": [Recorder("A", client_log), Recorder("B", client_log)],
        }
    )
    try:
        await mf.worker(
            "ic",
            cart,
            interceptors=[Recorder("W", worker_log)],
        )
        handle = await client.workflow.start(cart, "ann", task_queue="ic")
        assert client_log == [
            "A start ['ann']",
            "B start ['ann']",
            "B start done",
            "A start done",
        ]
        await handle.signal("add", "pear")
        # applied in inbox order: the signal before the update
        assert await handle.execute_update("set_qty", 3, timeout=30) == 3
        assert await handle.query("items") == ["pear"]
        await handle.signal("checkout")
        result = await handle.result()
        assert result == {
            "owner": "ANN",
            "quiet": "ann (whisper)",
            "items": ["pear"],
            "qty": 3,
        }
        assert client_log[4:] == [
            "A signal add",
            "B signal add",
            "A update set_qty",
            "B update set_qty",
            "A query items",
            "B query items",
            "A signal checkout",
            "B signal checkout",
        ]
        # each activity once (no retries here), its value seen on the way out
        assert worker_log == [
            "W activity shout ['ann']",
            "W activity shout -> ANN",
            "W activity whisper ['ann']",
            "W activity whisper -> ann (whisper)",
        ]
    finally:
        await client.close()


async def test_cancel_goes_through_the_chain(mf: Env) -> None:
    log: list[str] = []
    client = MemFlow.Client(
        {"connection": mf.conn, "interceptors": [Recorder("A", log)]}
    )
    try:
        await mf.worker("icc", cart)
        handle = await client.workflow.start(cart, "bo", task_queue="icc")
        await handle.cancel("enough")
        with pytest.raises(errors.WorkflowError):
            await handle.result()
        assert log[-1] == "A cancel enough"
    finally:
        await client.close()


class Rewrite(Interceptor):
    """Changes the start arguments, the signal's argument and the activities'."""

    def intercept_client(
        self, next: ClientOutboundInterceptor
    ) -> ClientOutboundInterceptor:
        class Out(ClientOutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> Any:
                input.args = [f"{input.args[0]}-x"]
                input.options["workflow_id"] = "rewritten"
                return await self.next.start_workflow(input)

            async def signal_workflow(self, input: SignalWorkflowInput) -> None:
                if input.signal == "add":
                    input.args = [str(a) * 2 for a in input.args]
                await self.next.signal_workflow(input)

        return Out(next)

    def intercept_activity(
        self, next: ActivityInboundInterceptor
    ) -> ActivityInboundInterceptor:
        class In(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                input.args = [f"<{a}>" for a in input.args]
                return await self.next.execute_activity(input)

        return In(next)


async def test_an_interceptor_that_changes_the_input_changes_the_call(
    mf: Env,
) -> None:
    client = MemFlow.Client({"connection": mf.conn, "interceptors": [Rewrite()]})
    try:
        await mf.worker("icr", cart, interceptors=[Rewrite()])
        handle = await client.workflow.start(cart, "cy", task_queue="icr")
        assert handle.workflow_id == "rewritten"
        await handle.signal("add", "fig")
        await handle.signal("checkout")
        assert await handle.result() == {
            "owner": "<CY-X>",
            "quiet": "<cy-x> (whisper)",
            "items": ["figfig"],
            "qty": 1,
        }
    finally:
        await client.close()


class _Plain:
    pass


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (
            [Recorder],
            "interceptors[0] is not an Interceptor (an instance, not the class): Recorder",
        ),
        ([_Plain()], "interceptors[0] is not an Interceptor: _Plain"),
        (Recorder("A", []), "'interceptors' is a list of Interceptor instances"),
    ],
)
def test_a_bad_interceptors_option_is_named(given: Any, says: str) -> None:
    with pytest.raises(errors.ConfigError, match=re.escape(says)):
        MemFlow.Client({"connection": {"dsn": "x"}, "interceptors": given})


# -- workflow interceptors --

#: what the workflow interceptor saw, activation by activation
SEEN: list[list[str]] = []


async def kid(text: str) -> str:
    return f"kid {text}"


async def parent(n: int) -> str:
    """An activity, a sleep, a child, then continue-as-new once."""
    wf.set_query_handler("n", lambda: n)
    acts = wf.proxy_activities(activities={"shout": shout})
    loud = await acts.shout(f"p{n}")
    await wf.sleep_for(0.05)
    child = await wf.exec_child(kid, args=[loud], task_queue="icwk")
    if n == 0:
        wf.continue_as_new(1)
    return str(child)


class SeeOut(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, log: list[str]) -> None:
        super().__init__(next)
        self.log = log

    async def start_activity(self, input: StartActivityInput) -> Any:
        input.args = [f"{a}!" for a in input.args]  # changes the call
        self.log.append(f"activity {input.activity} {input.args}")
        return await self.next.start_activity(input)

    async def sleep(self, input: SleepInput) -> float:
        self.log.append(f"sleep {input.duration}")
        return await self.next.sleep(input)

    async def start_child_workflow(self, input: StartChildWorkflowInput) -> Any:
        self.log.append(f"child {input.options['args']} wait={input.wait}")
        return await self.next.start_child_workflow(input)

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        self.log.append(f"continue {input.args}")
        self.next.continue_as_new(input)


class SeeIn(WorkflowInboundInterceptor):
    """Made anew each activation (and each query's replay): one log each, as
    a query may replay while the worker activates."""

    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self.log: list[str] = []
        SEEN.append(self.log)

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self.next.init(SeeOut(outbound, self.log))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        self.log.append(f"execute {input.fn.__name__} {input.args}")
        return await self.next.execute_workflow(input)


class SeeHandlers(SeeIn):
    async def handle_signal(self, input: HandleSignalInput) -> None:
        input.args = [str(a).upper() for a in input.args]  # changes the call
        self.log.append(f"signal {input.signal} {input.args}")
        await self.next.handle_signal(input)

    async def handle_query(self, input: HandleQueryInput) -> Any:
        self.log.append(f"query {input.query}")
        return await self.next.handle_query(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        self.log.append(f"update {input.update} {input.args}")
        return await self.next.handle_update_handler(input)


class SeeingHandlers(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return SeeHandlers


async def test_workflow_handlers_go_through_the_inbound_chain(mf: Env) -> None:
    SEEN.clear()
    await mf.worker("ich", cart, interceptors=[SeeingHandlers()])
    handle = await mf.client.workflow.start(cart, "di", task_queue="ich")
    await handle.signal("add", "fig")
    assert await handle.execute_update("set_qty", 2, timeout=30) == 2
    assert await handle.query("items") == ["FIG"]  # the signal's changed value
    await handle.signal("checkout")
    result = await handle.result()
    assert result["items"] == ["FIG"] and result["qty"] == 2
    asked = [run for run in SEEN if "query items" in run]
    assert len(asked) == 1 and asked[0][-1] == "query items"  # replay, then ask
    runs = [run for run in SEEN if "query items" not in run]
    # The handlers run again, in the same order with the same arguments, and
    # so do the calls; where a handler falls against the hook of the call the
    # workflow was blocked on when its message came may differ by activation.
    full = max(runs, key=len)

    def split(run: list[str]) -> tuple[list[str], list[str]]:
        handled = [x for x in run if x.startswith(("signal ", "update "))]
        return [x for x in run if x not in handled], handled

    for run in runs:
        calls, handled = split(run)
        assert calls == split(full)[0][: len(calls)], run
        assert handled == split(full)[1][: len(handled)], run
    assert sorted(full) == sorted(
        [
            "execute cart ['di']",
            "activity shout ['di!']",
            "activity whisper ['di!']",
            "signal add ['FIG']",
            "update set_qty [2]",
            "signal checkout []",
        ]
    )


class Seeing(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return SeeIn


@pytest.mark.parametrize("cached", [0, 8])
async def test_workflow_interceptors_see_each_call_each_activation_alike(
    mf: Env, cached: int
) -> None:
    """Replayed or resumed from the sticky cache (``cached``), each
    activation's hooks are a prefix of the same sequence."""
    SEEN.clear()
    options = {"max_cached_workflows": cached}
    await mf.worker("icw", parent, interceptors=[Seeing()], options=options)
    await mf.worker("icwk", kid)
    handle = await mf.client.workflow.start(parent, 0, task_queue="icw")
    assert await handle.result() == "kid P1!"
    full = {
        0: [
            "execute parent [0]",
            "activity shout ['p0!']",
            "sleep 0.05",
            "child ['P0!'] wait=True",
            "continue [1]",
        ],
        1: [
            "execute parent [1]",
            "activity shout ['p1!']",
            "sleep 0.05",
            "child ['P1!'] wait=True",
        ],
    }
    runs = list(SEEN)
    # every activation re-runs the function from the top: the interceptor sees
    # the replayed calls again, the same ones in the same order, then the new one
    for run in runs:
        gen = 0 if run[0] == full[0][0] else 1
        assert run == full[gen][: len(run)], run
    assert full[0] in runs and full[1] in runs
    if not cached:  # an activation per call, each from the top
        assert len(runs) >= 8
    seen = len(SEEN)
    # a query replays the last generation in this process: the same calls again
    assert await handle.query("n") == 1
    assert SEEN[seen:] == [full[1]]
