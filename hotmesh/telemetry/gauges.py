"""Observable gauges read from the database (issue 18): messages ready per
topic and the age of the oldest, jobs per status.

A scrape never reads the database: the gauges report the figures of the last
read, and a scrape that finds them older than :data:`READ_EVERY` seconds
starts the next read on the app's event loop (so at most one read every few
seconds per app and process, and none while nobody scrapes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from hotmesh.telemetry import logs

log = logs.get("hotmesh.telemetry")

#: seconds the figures of one read are served before the next read
READ_EVERY = 5.0
#: the statuses always reported (0 when none)
STATUSES = ("scheduled", "running", "done", "error")

Reader = Callable[[str], Awaitable[dict[str, Any]]]


class Watch:
    """The figures of one app, read by ``read(app)`` (``store.stats``)."""

    def __init__(self, app: str, read: Reader) -> None:
        self.app = app
        self._read = read
        self._loop = asyncio.get_running_loop()
        self.figures: dict[str, Any] = {}
        #: streams seen ready once: reported as 0 once drained
        self.streams: set[str] = set()
        self.read_at = -1e9
        self.reads = 0
        self._task: asyncio.Task[None] | None = None

    def due(self) -> None:
        """From a scrape (any thread): start a read if the figures are stale."""
        if time.monotonic() - self.read_at < READ_EVERY or self._task is not None:
            return
        try:
            self._loop.call_soon_threadsafe(self._start)
        except RuntimeError:  # the loop is closed: the app is gone
            pass

    def _start(self) -> None:
        if self._task is None:
            self._task = self._loop.create_task(self.read())

    async def read(self) -> None:
        """Read the figures now."""
        try:
            figures = await self._read(self.app)
        except Exception as exc:  # a gauge must never hurt the app: say so, go on
            log.warning("gauges of app %s: read failed: %s", self.app, exc)
        else:
            self.figures = figures
            self.streams.update(figures.get("backlog", {}))
            self.reads += 1
        finally:
            self.read_at = time.monotonic()
            self._task = None

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


_WATCHES: list[Watch] = []


def watch(app: str, read: Reader) -> Watch:
    """Serve app ``app``'s figures to the gauges (until :func:`unwatch`)."""
    found = Watch(app, read)
    _WATCHES.append(found)
    return found


def unwatch(found: Watch | None) -> None:
    if found is not None:
        found.close()
        if found in _WATCHES:
            _WATCHES.remove(found)


async def read_all() -> None:
    """Read every app's figures now (tests, ``hotmesh stats``)."""
    await asyncio.gather(*(w.read() for w in list(_WATCHES)))


def _topic(stream: str) -> str:
    return stream[2:] if stream.startswith("w:") else f"${stream}"


def _backlog(index: int) -> Iterator[tuple[float, dict[str, str]]]:
    for found in list(_WATCHES):
        found.due()
        backlog = found.figures.get("backlog", {})
        for stream in sorted(found.streams):
            value = backlog.get(stream, (0, 0.0))[index]
            yield value, {"hotmesh.app": found.app, "hotmesh.topic": _topic(stream)}


def _jobs() -> Iterator[tuple[float, dict[str, str]]]:
    for found in list(_WATCHES):
        found.due()
        if not found.figures:
            continue
        jobs = found.figures.get("jobs", {})
        for status in STATUSES:
            yield (
                jobs.get(status, 0),
                {"hotmesh.app": found.app, "hotmesh.job.status": status},
            )


def create(meter: Any) -> None:
    """The observable gauges, on ``meter`` (once)."""
    from opentelemetry.metrics import Observation

    def observe(rows: Iterator[tuple[float, dict[str, str]]]) -> list[Any]:
        return [Observation(value, attrs) for value, attrs in rows]

    meter.create_observable_gauge(
        "hotmesh.messages.ready",
        callbacks=[lambda _options: observe(_backlog(0))],
        unit="{message}",
        description="Messages ready to claim, per topic ($engine: the engine's)",
    )
    meter.create_observable_gauge(
        "hotmesh.messages.oldest_age",
        callbacks=[lambda _options: observe(_backlog(1))],
        unit="s",
        description="Age of the oldest ready message, per topic",
    )
    meter.create_observable_gauge(
        "hotmesh.jobs.status",
        callbacks=[lambda _options: observe(_jobs())],
        unit="{job}",
        description="Live jobs per status (scheduled, running, done, error)",
    )
