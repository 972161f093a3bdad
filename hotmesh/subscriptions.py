"""Who listens to which topic in this process: ``sub`` callbacks by topic and
``psub`` callbacks by glob pattern."""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable
from typing import Any

from hotmesh.telemetry import logs

SubCallback = Callable[[str, dict[str, Any]], Any]
log = logs.get("hotmesh.subscriptions")


class Subscriptions:
    """The ``sub``/``psub`` callbacks of one ``HotMesh`` (synchronous, no I/O)."""

    def __init__(self) -> None:
        self._subs: dict[str, list[SubCallback]] = {}
        self._psubs: dict[str, list[SubCallback]] = {}

    def add(self, topic: str, callback: SubCallback) -> None:
        """Call ``callback`` for messages on ``topic``."""
        self._subs.setdefault(topic, []).append(callback)

    def remove(self, topic: str, callback: SubCallback | None = None) -> None:
        """Remove ``callback`` (or every callback) on ``topic``."""
        if callback is None:
            self._subs.pop(topic, None)
            return
        callbacks = self._subs.get(topic, [])
        if callback in callbacks:
            callbacks.remove(callback)
        if not callbacks:
            self._subs.pop(topic, None)

    def add_pattern(self, pattern: str, callback: SubCallback) -> None:
        """Call ``callback`` for every topic matching the glob ``pattern``."""
        self._psubs.setdefault(pattern, []).append(callback)

    def remove_pattern(self, pattern: str) -> None:
        """Remove every callback on ``pattern``."""
        self._psubs.pop(pattern, None)

    def callbacks(self, *topics: str) -> list[SubCallback]:
        """``sub`` and ``psub`` callbacks for any of ``topics``."""
        subs = [cb for t in topics for cb in self._subs.get(t, [])]
        for pattern, callbacks in self._psubs.items():
            if any(fnmatch.fnmatchcase(t, pattern) for t in topics):
                subs.extend(callbacks)
        return subs

    def __contains__(self, topic: str) -> bool:
        return topic in self._subs


async def awaited(result: Awaitable[Any]) -> None:
    """Await an async callback's result; its failure is logged, never raised
    (a subscriber's failure must not reach the engine)."""
    try:
        await result
    except Exception:
        log.exception("a subscriber callback failed")
