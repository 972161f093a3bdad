"""Calling hotmesh from synchronous code: a Flask or Django view, a script.

hotmesh is asyncio through and through, and a ``HotMesh`` belongs to the
event loop that opened it. Synchronous code therefore does not get a second,
blocking copy of the API: a ``Portal`` runs one event loop in a background
thread for the life of the process, and ``portal.call(fn, ...)`` runs a
coroutine function there and blocks the calling thread until it returns
(any number of threads may call at once). ``connect`` opens a ``HotMesh`` on
a portal and gives its everyday methods as blocking ones::

    hm = hotmesh.blocking.connect("orders", dsn=DSN)   # once, at import time
    def view(request):                                  # any worker thread
        out = hm.pubsub("order.placed", {"id": request.GET["id"]}, timeout=5)
        ...

Anything else goes through ``hm.call``: ``hm.call(hm.mesh.escalations.list)``,
or for MemFlow ``hm.call(client.workflow.execute, args=[...], ...)``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, Self, TypeVar

from hotmesh import errors
from hotmesh.mesh import HotMesh

P = ParamSpec("P")
T = TypeVar("T")


class Portal:
    """An event loop in a daemon thread; ``call`` runs coroutines on it."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.call_soon(ready.set)
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="hotmesh-portal", daemon=True)
        self._thread.start()
        ready.wait()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the portal's objects live on."""
        return self._loop

    def call(
        self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(*args, **kwargs)`` on the portal's loop; block until it returns
        (its exception is raised here)."""
        if threading.current_thread() is self._thread:
            raise errors.ConfigError(
                "Portal.call from the portal's own loop would wait for ever: "
                "await the coroutine instead"
            )
        if self._loop.is_closed():
            raise errors.ConfigError("this portal is closed")

        async def run() -> T:
            return await fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def close(self) -> None:
        """Stop the loop and its thread (what still runs on it is cancelled)."""
        if self._loop.is_closed():
            return

        async def cancel_rest() -> None:
            me = asyncio.current_task()
            rest = [t for t in asyncio.all_tasks() if t is not me]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_rest(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class BlockingHotMesh:
    """A ``HotMesh`` running on a portal, with blocking methods (see ``connect``)."""

    def __init__(self, portal: Portal, mesh: HotMesh, own_portal: bool) -> None:
        self.portal = portal
        #: the async ``HotMesh`` (use it through ``call``)
        self.mesh = mesh
        self._own_portal = own_portal

    def call(
        self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run any coroutine function on this mesh's loop and wait for it."""
        return self.portal.call(fn, *args, **kwargs)

    def deploy(self, source: str | os.PathLike[str], **options: Any) -> dict[str, Any]:
        """``HotMesh.deploy``."""
        return self.call(self.mesh.deploy, source, **options)

    def activate(self, version: str) -> None:
        """``HotMesh.activate``."""
        self.call(self.mesh.activate, version)

    def pub(
        self, topic: str, data: dict[str, Any] | None = None, **options: Any
    ) -> str:
        """``HotMesh.pub``: start a job, return its id."""
        return self.call(self.mesh.pub, topic, data, **options)

    def pubsub(
        self, topic: str, data: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """``HotMesh.pubsub``: start a job and wait for its output."""
        return self.call(self.mesh.pubsub, topic, data, timeout)

    def signal(self, topic: str, data: dict[str, Any], **options: Any) -> str | None:
        """``HotMesh.signal``."""
        return self.call(self.mesh.signal, topic, data, **options)

    def get_state(self, topic: str, job_id: str) -> dict[str, Any]:
        """``HotMesh.get_state``."""
        return self.call(self.mesh.get_state, topic, job_id)

    def get_status(self, job_id: str) -> int:
        """``HotMesh.get_status``."""
        return self.call(self.mesh.get_status, job_id)

    def export(self, job_id: str) -> dict[str, Any]:
        """``HotMesh.export``."""
        return self.call(self.mesh.export, job_id)

    def interrupt(self, topic: str, job_id: str, **options: Any) -> bool:
        """``HotMesh.interrupt``."""
        return self.call(self.mesh.interrupt, topic, job_id, **options)

    def close(self) -> None:
        """Stop the mesh (and the portal, when ``connect`` made it)."""
        try:
            self.call(self.mesh.stop)
        finally:
            if self._own_portal:
                self.portal.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    app_id: str,
    engine: dict[str, Any] | None = None,
    workers: list[dict[str, Any]] | None = None,
    *,
    dsn: str | None = None,
    schema: str | None = None,
    portal: Portal | None = None,
) -> BlockingHotMesh:
    """``HotMesh.init`` for synchronous code: the mesh runs on ``portal`` (a new
    one by default, closed with the mesh). Workers' callbacks run there too
    (synchronous ones in its thread pool)."""
    own = portal is None
    used = portal or Portal()

    async def open_mesh() -> HotMesh:
        return await HotMesh.init(app_id, engine, workers, dsn=dsn, schema=schema)

    try:
        mesh = used.call(open_mesh)
    except BaseException:
        if own:
            used.close()
        raise
    return BlockingHotMesh(used, mesh, own)


__all__ = ["BlockingHotMesh", "Portal", "connect"]
