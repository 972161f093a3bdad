"""Serving the console with uvicorn, saying when it listens (the CLI prints the
address then; tests wait for it instead of polling the port)."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette


class Server(uvicorn.Server):
    """A uvicorn server that calls ``on_started(host, port)`` once it listens."""

    def __init__(
        self, config: uvicorn.Config, on_started: Callable[[str, int], None]
    ) -> None:
        super().__init__(config)
        self._on_started = on_started

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM stop the server gracefully, and the command exits 0
        (uvicorn would raise the signal again after its shutdown)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        kept = {
            sig: signal.signal(sig, self.handle_exit)
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in kept.items():
                signal.signal(sig, handler)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            for server in self.servers:
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    self._on_started(str(host), int(port))
                    return


def config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    """Quiet uvicorn: hotmesh's own notices only, no access log, no server header."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "lifespan": "on",
    }
    return uvicorn.Config(app, **options)
