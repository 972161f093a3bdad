"""Worker callbacks: run a user's callback on a worker-stream message and hand
its answer (or its failure, as an error response) to the engine."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hotmesh import errors
from hotmesh.engine.router import retrying
from hotmesh.store.records import Message

log = logging.getLogger("hotmesh")
Callback = Callable[[dict[str, Any]], Any]


def callback_handler(
    topic: str,
    callback: Callback,
    done: Callable[[Message, Any], Awaitable[None]],
    poison: int,
    stopped: Callable[[], bool],
) -> Callable[[Message], Awaitable[None]]:
    """The consumer's handler for ``topic``: call ``callback`` (in a thread when
    it is synchronous) and pass its response to ``done`` (``Engine.worker_done``)."""
    is_async = inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(
        type(callback).__call__
    )

    async def handle(msg: Message) -> None:
        message = {
            "metadata": msg.payload.get("metadata", {}),
            "data": msg.payload.get("data", {}),
        }
        try:
            if msg.attempts > poison:
                # Claimed again and again without an answer (its callback
                # keeps killing the process): an error, not another try.
                raise errors.HotMeshError(
                    f"poison message: claimed {msg.attempts} times without completing"
                )
            if is_async:
                response = await callback(message)
            else:
                response = await asyncio.to_thread(callback, message)
        except Exception as exc:  # the worker's failure becomes an error response
            log.warning("worker %s failed: %s", topic, exc)
            response = {
                "status": "error",
                "code": 500,
                "data": {"message": str(exc), "code": 500},
            }
        # Retried alone on a lost connection, so the callback is not re-run.
        await retrying(
            lambda: done(msg, response),
            f"worker {topic}: response to message {msg.id}",
            stopped,
        )

    return handle
