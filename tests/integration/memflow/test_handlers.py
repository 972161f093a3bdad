"""Signal, query and update handlers and wait_condition (issue 19), on real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow
APPLIED: Counter[str] = Counter()


async def shout(text: str) -> str:
    return text.upper()


async def count(name: str) -> int:
    APPLIED[name] += 1
    return APPLIED[name]


async def cart(owner: str) -> dict[str, Any]:
    """Items arrive by signal, the quantity changes by update, checkout ends it."""
    items: list[str] = []
    state = {"qty": 1, "done": False}

    def add(item: str) -> None:
        items.append(item)

    def set_qty(qty: int) -> int:
        old = state["qty"]
        state["qty"] = qty
        return old

    def check_qty(qty: int) -> None:
        if qty < 1:
            raise ValueError(f"qty must be at least 1, not {qty}")

    def fail(reason: str) -> None:
        raise RuntimeError(reason)

    async def loud(text: str) -> str:
        acts = wf.proxy_activities(activities={"shout": shout})
        return str(await acts.shout(text))

    async def bump(name: str) -> int:
        acts = wf.proxy_activities(activities={"count": count})
        return int(await acts.count(name))

    wf.set_signal_handler("add", add)
    wf.set_signal_handler("checkout", lambda: state.update(done=True))
    wf.set_query_handler("items", lambda: list(items))
    wf.set_query_handler("qty", lambda: state["qty"])
    wf.set_update_handler("set_qty", set_qty, validator=check_qty)
    wf.set_update_handler("fail", fail)
    wf.set_update_handler("loud", loud)
    wf.set_update_handler("bump", bump)
    await wf.wait_condition(lambda: bool(state["done"]))
    return {"owner": owner, "items": items, "qty": state["qty"]}


def history(data: dict[str, Any]) -> dict[str, Any]:
    """What handlers record: events, update outcomes, the inbox position."""
    keep = ("-evt:", "-upd:", "-inbox-")
    return {k: v for k, v in data.items() if k.startswith(keep)}


async def start(mf: Env, fn: Any, *args: Any, **kw: Any) -> Any:
    return await mf.client.workflow.start(
        args=list(args), task_queue="hq", workflow_name=fn, **kw
    )


async def test_signals_queries_updates(mf: Env) -> None:
    APPLIED.clear()
    await mf.worker("hq", cart)
    handle = await start(mf, cart, "ann")
    for item in ("apple", "pear", "fig"):
        await handle.signal("add", item)
    assert await handle.execute_update("set_qty", 3) == 1
    # the update is applied after the three signals: arrival order
    assert await handle.query("items") == ["apple", "pear", "fig"]
    assert await handle.query("qty") == 3
    assert await handle.execute_update("loud", "hi") == "HI"  # calls an activity
    with pytest.raises(errors.UpdateFailedError, match="RuntimeError: nope"):
        await handle.execute_update("fail", "nope")
    await handle.signal("checkout")
    out = await asyncio.wait_for(handle.result(), 30)
    assert out == {"owner": "ann", "items": ["apple", "pear", "fig"], "qty": 3}
    # a completed workflow still answers queries
    assert await handle.query("items") == ["apple", "pear", "fig"]


async def test_query_records_nothing_and_names_known_handlers(mf: Env) -> None:
    await mf.worker("hq", cart)
    handle = await start(mf, cart, "bob")
    await handle.signal("add", "kiwi")
    # read after write: the query sees the signal before the workflow took it
    assert await handle.query("items") == ["kiwi"]
    assert await handle.execute_update("set_qty", 2) == 1  # now it has taken both
    before = history((await handle._read()).data)
    assert await handle.query("qty") == 2
    with pytest.raises(errors.UnknownHandlerError) as caught:
        await handle.query("itmes")
    message = str(caught.value)
    assert "did you mean 'items'" in message and "'qty'" in message
    assert history((await handle._read()).data) == before  # nothing recorded
    await handle.signal("checkout")
    await asyncio.wait_for(handle.result(), 30)


async def inbox(mf: Env) -> list[tuple[str, str]]:
    hm = await mf.client.mesh()
    rows = await hm.store._pool.fetch(
        "SELECT kind, name FROM hotmesh.job_messages ORDER BY seq"
    )
    return [(r["kind"], r["name"]) for r in rows]


async def test_update_rejected_or_unknown_changes_nothing(mf: Env) -> None:
    await mf.worker("hq", cart)
    handle = await start(mf, cart, "cy")
    await handle.signal("add", "plum")
    assert await handle.execute_update("set_qty", 2) == 1  # taken: the workflow idles
    before = history((await handle._read()).data)
    with pytest.raises(errors.UpdateRejectedError, match="at least 1, not 0"):
        await handle.execute_update("set_qty", 0)
    with pytest.raises(errors.UnknownHandlerError, match="'set_qty'"):
        await handle.execute_update("set_quantity", 2)
    assert history((await handle._read()).data) == before
    assert await inbox(mf) == [("signal", "add"), ("update", "set_qty")]
    await handle.signal("checkout")
    assert (await asyncio.wait_for(handle.result(), 30))["qty"] == 2


async def test_update_applied_once_for_one_id(mf: Env) -> None:
    APPLIED.clear()
    await mf.worker("hq", cart)
    handle = await start(mf, cart, "dee")
    first = await handle.execute_update("bump", "once", update_id="u-1")
    # the caller retries (say its connection dropped): same id, same outcome
    again = await asyncio.gather(
        handle.execute_update("bump", "once", update_id="u-1"),
        handle.execute_update("bump", "once", update_id="u-1"),
    )
    assert first == 1 and again == [1, 1]
    assert APPLIED["once"] == 1  # the handler's activity ran once
    # a retry that races the first send: one message, one application
    racing = await asyncio.gather(
        *(handle.execute_update("bump", "race", update_id="u-2") for _ in range(4))
    )
    assert racing == [1, 1, 1, 1] and APPLIED["race"] == 1
    await handle.signal("checkout")
    await asyncio.wait_for(handle.result(), 30)
    # after the end too: the recorded outcome, not a new application
    assert await handle.execute_update("bump", "once", update_id="u-1") == 1
    assert APPLIED["once"] == 1
    data = (await handle._read()).data
    events = [v for k, v in data.items() if k.startswith("-evt:")]
    assert sorted(e.get("id") for e in events if e.get("kind") == "update") == [
        "u-1",
        "u-2",
    ]


async def late_handler() -> list[str]:
    """Registers its handler only after a wait_for: earlier signals are kept."""
    got: list[str] = []
    await wf.wait_for("go")
    wf.set_signal_handler("note", got.append)
    await wf.wait_condition(lambda: len(got) >= 3)
    return got


async def test_signal_kept_until_a_handler_is_registered(mf: Env) -> None:
    await mf.worker("hq", late_handler)
    handle = await start(mf, late_handler)
    await handle.signal("note", "a")
    await handle.signal("note", "b")
    await handle.signal("go")
    await handle.signal("note", "c")
    assert await asyncio.wait_for(handle.result(), 30) == ["a", "b", "c"]


async def timed(limit: float) -> str:
    flag: list[bool] = []
    wf.set_signal_handler("go", lambda: flag.append(True))
    try:
        await wf.wait_condition(lambda: bool(flag), timeout=limit)
    except TimeoutError:
        return "timed out"
    return "signalled"


async def test_wait_condition_timeout(mf: Env) -> None:
    await mf.worker("hq", timed)
    slow = await start(mf, timed, 0.5)
    assert await asyncio.wait_for(slow.result(), 30) == "timed out"
    quick = await start(mf, timed, 3600)
    await quick.signal("go")
    assert await asyncio.wait_for(quick.result(), 30) == "signalled"


STARTED: dict[int, asyncio.Event] = {}
RELEASE: dict[int, asyncio.Event] = {}


async def hold(step: int) -> int:
    """An activity the test lets finish: signals arrive while it runs."""
    STARTED.setdefault(step, asyncio.Event()).set()
    await asyncio.wait_for(RELEASE.setdefault(step, asyncio.Event()).wait(), 30)
    return step


async def journal(steps: int) -> list[str]:
    log: list[str] = []
    wf.set_signal_handler("note", log.append)
    wf.set_query_handler("log", lambda: list(log))
    acts = wf.proxy_activities(activities={"hold": hold})
    for step in range(steps):
        log.append(f"step {await acts.hold(step)}")
    await wf.wait_condition(lambda: "end" in log)
    return log


async def test_replay_after_restart_gives_the_same_answers(mf: Env) -> None:
    STARTED.clear()
    RELEASE.clear()
    for step in range(2):
        STARTED[step], RELEASE[step] = asyncio.Event(), asyncio.Event()
    await mf.worker("hq", journal)
    handle = await start(mf, journal, 2)
    await asyncio.wait_for(STARTED[0].wait(), 30)
    await handle.signal("note", "a")  # while step 0 runs: seen before its result
    RELEASE[0].set()
    await asyncio.wait_for(STARTED[1].wait(), 30)
    await handle.signal("note", "b")
    await handle.signal("note", "c")
    first = await handle.query("log")
    assert first == ["a", "step 0", "b", "c"]
    # stop this process's workers now: step 1, in flight, is abandoned (its
    # claim released for the next worker)
    await (await mf.client.mesh()).stop(grace=0.5)
    await mf.close()

    again = Env(mf.dsn)
    try:
        await again.worker("hq", journal)
        later = again.client.workflow.get_handle("hq", "journal", handle.workflow_id)
        assert await later.query("log") == first  # rebuilt from the history alone
        RELEASE[1].set()  # the restarted worker runs step 1 again (lease expired)
        await later.signal("note", "end")
        out = await asyncio.wait_for(later.result(), 60)
        # "end" and step 1's result race: either order, as recorded
        assert out[:4] == first and sorted(out[4:]) == ["end", "step 1"]
        assert await later.query("log") == out
    finally:
        await again.close()


async def test_update_caller_is_told_not_polling(
    mf: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller learns of the outcome from the announcement the workflow's
    worker sends once it is committed: with re-reads an hour apart, every
    update still answers."""
    from hotmesh.memflow import updates
    from hotmesh.memflow.worker import applied_topic

    monkeypatch.setattr(updates, "POLL_FIRST", 3600.0)
    monkeypatch.setattr(updates, "POLL_MAX", 3600.0)
    await mf.worker("hq", cart)
    handle = await start(mf, cart, "eve")
    heard: list[Any] = []
    hm = await mf.client.mesh()
    await hm.sub(applied_topic("memflow"), lambda _t, message: heard.append(message))
    for qty in (2, 3, 4):
        assert await asyncio.wait_for(handle.execute_update("set_qty", qty), 30) == (
            qty - 1
        )
    assert await asyncio.wait_for(handle.execute_update("loud", "a"), 30) == "A"
    assert {"id": handle.workflow_id} in heard
    # rejected: recorded as an outcome too, announced alike
    with pytest.raises(errors.UpdateRejectedError):
        await asyncio.wait_for(handle.execute_update("set_qty", 0), 30)
    await handle.signal("checkout")
    assert (await asyncio.wait_for(handle.result(), 30))["qty"] == 4
