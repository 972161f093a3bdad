"""TopicCallbacks: a topic's bounded threads, its timeout, and what a callback
may raise (issue 20 §6). No database: the callbacks are plain functions."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import pytest

from hotmesh import errors
from hotmesh.engine.workers import (
    CallbackTimeoutError,
    TopicCallbacks,
    callback_handler,
    check_worker,
)
from hotmesh.store.records import Message


async def test_sync_callbacks_hold_at_most_capacity_threads() -> None:
    release = threading.Event()
    inside = 0
    most = 0
    lock = threading.Lock()
    loop = asyncio.get_running_loop()
    entered: asyncio.Queue[int] = asyncio.Queue()

    def slow(message: dict[str, Any]) -> dict[str, Any]:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        loop.call_soon_threadsafe(entered.put_nowait, message["data"])
        release.wait(10)
        with lock:
            inside -= 1
        return {"data": message["data"]}

    topic = TopicCallbacks("t", slow, capacity=3)
    calls = [asyncio.create_task(topic.call({"data": i})) for i in range(7)]
    for _ in range(3):
        await asyncio.wait_for(entered.get(), 5)
    assert not any(c.done() for c in calls)
    release.set()
    assert [r["data"] for r in await asyncio.gather(*calls)] == list(range(7))
    assert most == 3


async def test_a_timed_out_thread_is_abandoned_counted_and_keeps_its_slot() -> None:
    release = threading.Event()

    def hang(message: dict[str, Any]) -> dict[str, Any]:
        release.wait(10)
        return {}

    topic = TopicCallbacks("t", hang, capacity=1, timeout=0.05)
    with pytest.raises(CallbackTimeoutError, match=r"timeout of 0\.05 s"):
        await topic.call({})
    assert (topic.abandoned, topic.stuck) == (1, 1)
    # the only thread is still stuck: the next attempt cannot start either
    with pytest.raises(CallbackTimeoutError, match="all 1 of its threads are stuck"):
        await topic.call({})
    # once it returns, its slot is free again and it no longer counts as stuck
    release.set()
    topic.timeout = None
    assert await asyncio.wait_for(topic.call({}), 5) == {}
    assert (topic.abandoned, topic.stuck) == (1, 0)


async def test_an_async_callback_that_ignores_cancellation_is_left_behind() -> None:
    over = asyncio.Event()

    async def stubborn(message: dict[str, Any]) -> dict[str, Any]:
        while not over.is_set():
            try:
                await over.wait()
            except asyncio.CancelledError:
                pass
        return {}

    topic = TopicCallbacks("t", stubborn, timeout=0.05)
    with pytest.raises(CallbackTimeoutError, match="did not return"):
        await asyncio.wait_for(topic.call({}), 5)
    assert topic.abandoned == 1
    over.set()


def _exit(message: dict[str, Any]) -> None:
    sys.exit(2)


async def _exit_async(message: dict[str, Any]) -> None:
    sys.exit(2)


async def _cancel(message: dict[str, Any]) -> None:
    raise asyncio.CancelledError


def _interrupt(message: dict[str, Any]) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("callback", "named"),
    [
        (_exit, r"SystemExit\(2,\)"),
        (_exit_async, r"SystemExit\(2,\)"),
        (_cancel, "CancelledError"),
        (_interrupt, "KeyboardInterrupt"),
    ],
)
async def test_a_base_exception_is_an_ordinary_failure(
    callback: Any, named: str
) -> None:
    topic = TopicCallbacks("t", callback)
    with pytest.raises(Exception, match=named) as info:
        await topic.call({})
    assert not isinstance(info.value, asyncio.CancelledError)


async def test_our_own_cancellation_still_propagates() -> None:
    started = asyncio.Event()

    async def waits(message: dict[str, Any]) -> None:
        started.set()
        await asyncio.Event().wait()  # runs until cancelled

    topic = TopicCallbacks("t", waits)
    task = asyncio.create_task(topic.call({}))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert topic.abandoned == 1


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(errors.ConfigError, match="worker 't': timeout must be"):
        TopicCallbacks("t", _exit, timeout=0)


async def test_committed_hook_follows_the_engine_taking_the_response(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``committed`` hears the message and the response only after ``done``
    (the engine's commit) returned; its own failure is logged, not raised."""
    order: list[str] = []

    def answer(message: dict[str, Any]) -> dict[str, Any]:
        order.append("callback")
        return {"data": {"n": message["data"]["n"] + 1}}

    async def done(_msg: Message, response: Any) -> None:
        order.append(f"done {response['data']['n']}")

    async def committed(message: dict[str, Any], response: Any) -> None:
        order.append(f"committed {message['data']['n']} -> {response['data']['n']}")
        raise RuntimeError("hint lost")

    topic = TopicCallbacks("t", answer, committed=committed)
    handle = callback_handler(topic, done, 5, lambda: False)
    await handle(Message(1, "worker", {"metadata": {"jid": "j"}, "data": {"n": 1}}))
    assert order == ["callback", "done 2", "committed 1 -> 2"]
    assert "committed hook failed" in caplog.text


def test_committed_must_be_async() -> None:
    worker = {"topic": "t", "callback": _exit, "committed": lambda m, r: None}
    with pytest.raises(errors.ConfigError, match="committed must be an async"):
        check_worker(worker)
