"""The process registry: each running ``HotMesh`` (its engine and workers) says
it is alive every ``heartbeat`` seconds with one upsert, which also adds the
jobs it finished per minute (counted in memory, never a write per job). The
console lists the rows; a row whose beats stopped is shown stale."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from datetime import datetime
from importlib import metadata
from typing import Any

from hotmesh.store.postgres import PostgresStore
from hotmesh.store.presence import Beat, PresenceRows
from hotmesh.telemetry import logs

log = logs.get("hotmesh.presence")
try:  # the hotmesh release this process runs, as installed
    VERSION = metadata.version("hotmesh")
except metadata.PackageNotFoundError:  # pragma: no cover - a bare checkout
    VERSION = "unknown"

#: beats between two deletions of old rows (processes silent for an hour,
#: tallies over a day old): the tables stay small without a delete per beat
PRUNE_EVERY = 30


class Tally:
    """Jobs finished per minute since the last beat (pure)."""

    def __init__(self) -> None:
        self._counts: dict[datetime, list[int]] = {}

    def add(self, when: datetime, failed: bool) -> None:
        minute = when.replace(second=0, microsecond=0)
        counts = self._counts.setdefault(minute, [0, 0])
        counts[1 if failed else 0] += 1

    def take(self) -> list[tuple[datetime, int, int]]:
        """``(minute, completed, failed)`` counted so far, which are forgotten."""
        taken = [(m, c[0], c[1]) for m, c in sorted(self._counts.items())]
        self._counts = {}
        return taken

    def put_back(self, taken: list[tuple[datetime, int, int]]) -> None:
        """Count again what a failed beat could not write."""
        for minute, done, failed in taken:
            counts = self._counts.setdefault(minute, [0, 0])
            counts[0] += done
            counts[1] += failed


def _nothing() -> tuple[bool, list[str], int]:
    return False, [], 0


class Presence:
    """The beats of one ``HotMesh``: ``start`` writes the first, ``stop`` deletes
    the row. A client that never starts it (``attach``) is not listed."""

    def __init__(
        self, store: PostgresStore, app_id: str, owner: str, every: float
    ) -> None:
        self.rows = PresenceRows(store)
        self.app_id, self.owner, self.every = app_id, owner, every
        #: (runs the engine stream, worker topics, claimed messages) now
        self._streams: Callable[[], tuple[bool, list[str], int]] = _nothing
        self.tally = Tally()
        self.started = False
        self._task: asyncio.Task[None] | None = None
        self._soon = asyncio.Event()
        self._beats = 0

    def _beat_row(self) -> Beat:
        engine, topics, held = self._streams()
        return Beat(
            self.owner,
            self.app_id,
            socket.gethostname(),
            os.getpid(),
            VERSION,
            engine,
            sorted(topics),
            held,
            self.every,
        )

    async def beat(self) -> None:
        """Write this process's row and its tally now (a failed write keeps the tally)."""
        taken = self.tally.take()
        try:
            await self.rows.beat(self._beat_row(), taken)
        except BaseException:
            self.tally.put_back(taken)
            raise
        if self._beats % PRUNE_EVERY == 0:
            await self.rows.prune()
        self._beats += 1

    def finished(self, output: dict[str, Any] | None, now: datetime) -> None:
        """A job this process ended (its output): counted for the next beat."""
        if self.started and output is not None:
            self.tally.add(now, "err" in (output.get("metadata") or {}))

    async def start(self, streams: Callable[[], tuple[bool, list[str], int]]) -> None:
        """Write the first beat (so the row exists when ``init`` returns), then
        beat every ``every`` seconds; ``streams`` says what the process consumes."""
        self._streams, self.started = streams, True
        try:
            await self.beat()
        except Exception as exc:  # not fatal: the next beat tries again
            log.warning("could not write this process's first heartbeat: %s", exc)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def changed(self) -> None:
        """Topics were added or removed: beat now rather than at the next period."""
        self._soon.set()

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._soon.wait(), self.every)
            except TimeoutError:
                pass
            self._soon.clear()
            try:
                await self.beat()
            except Exception as exc:  # the database is away: the next beat retries
                log.warning("could not write this process's heartbeat: %s", exc)

    async def stop(self) -> None:
        """Stop beating and delete the row (the tally's last counts are written)."""
        if not self.started:
            return
        self.started = False
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            taken = self.tally.take()
            if taken:
                await self.rows.beat(self._beat_row(), taken)
            await self.rows.gone(self.owner)
        except Exception as exc:  # stopping anyway: the row goes stale, then old
            log.warning("could not remove this process's registry row: %s", exc)
