"""The publish/subscribe verbs of the ``HotMesh`` client: ``sub``/``psub``
callbacks in this process and ``publish`` to every process (a mixin of
``HotMesh``, to keep each module small)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any

from hotmesh import errors, ids
from hotmesh.engine import notes
from hotmesh.engine.engine import Engine
from hotmesh.store.postgres import PostgresStore
from hotmesh.subscriptions import SubCallback, Subscriptions, awaited

#: the longest NOTIFY payload ``publish`` sends (PostgreSQL's limit is 8,000 bytes)
NOTIFY_MAX = 7900


class PubSubVerbs:
    """``sub``, ``psub``, ``publish`` of one app (``HotMesh`` inherits them)."""

    app_id: str
    engine: Engine
    store: PostgresStore
    subscriptions: Subscriptions
    _spawn: Callable[[Coroutine[Any, Any, None]], None]

    async def sub(self, topic: str, callback: SubCallback) -> None:
        """Call ``callback(topic, job_output)`` when a job publishes to ``topic``."""
        self.subscriptions.add(topic, callback)

    async def unsub(self, topic: str, callback: SubCallback | None = None) -> None:
        """Remove ``callback`` (or every callback) on ``topic``."""
        self.subscriptions.remove(topic, callback)

    async def psub(self, pattern: str, callback: SubCallback) -> None:
        """``sub`` for every topic matching a glob ``pattern`` (``orders.*``)."""
        self.subscriptions.add_pattern(pattern, callback)

    async def punsub(self, pattern: str) -> None:
        """Remove every callback on ``pattern``."""
        self.subscriptions.remove_pattern(pattern)

    async def publish(self, topic: str, message: Any) -> None:
        """Send ``message`` to every ``sub``/``psub`` callback on ``topic``, in every
        connected process (a NOTIFY; not stored, so only live subscribers see it).

        The JSON form must fit PostgreSQL's NOTIFY limit (about 7,900 bytes).
        """
        ids.check(topic, "topic")
        body = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        note = notes.UserMessage(self.app_id, topic, body, self.engine.owner)
        payload = notes.encode(note)
        if len(payload.encode()) > NOTIFY_MAX:
            raise errors.ConfigError(
                f"message for '{topic}' is {len(body.encode())} bytes of JSON; "
                "publish carries at most about 7,800"
            )
        await self.store.notify(payload)
        self._deliver(topic, message)

    def _deliver(self, topic: str, message: Any) -> None:
        for callback in self.subscriptions.callbacks(topic):
            result = callback(topic, message)
            if inspect.isawaitable(result):
                self._spawn(awaited(result))
