"""``create_app``: the console as a Starlette application (mountable in Starlette
or FastAPI), its shared state, and how pages and errors are rendered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hotmesh import MemFlow, config, errors, ids
from hotmesh.dashboard import svg
from hotmesh.dashboard.security import CSRF_COOKIE, Guard
from hotmesh.mesh import HotMesh
from hotmesh.store import ConsoleReads, PostgresStore, job_state
from hotmesh.telemetry import logs

_HERE = resources.files(__package__)
_log = logs.get("hotmesh.dashboard")


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _when(value: Any) -> str:
    if not isinstance(value, datetime):
        return "" if value is None else str(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _age(seconds: Any) -> str:
    if seconds is None:
        return ""
    s = float(seconds)
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hotmesh.dashboard", "templates"),
        autoescape=True,  # every value is escaped: job data is user input
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = _json
    env.filters["when"] = _when
    env.filters["age"] = _age
    env.globals["job_state"] = job_state
    env.globals["attempts"] = svg.attempts
    return env


class Console:
    """What the pages and actions share: the store, clients, the guard."""

    def __init__(
        self,
        dsn: str,
        schema: str,
        read_only: bool,
        guard: Guard,
        codec: Any = None,
    ) -> None:
        self.dsn = dsn
        #: MemFlow's payload codec: pages show payloads decoded (else as stored)
        self.codec = codec
        self.schema = config.validate_name(schema, "schema name")
        self.read_only = read_only
        self.guard = guard
        self.templates = _environment()
        self._store: PostgresStore | None = None
        self._reads: ConsoleReads | None = None
        self._memflow: dict[str, Any] = {}
        self._lock = asyncio.Lock()

    async def store(self) -> PostgresStore:
        """The store, opened on first use (a mounted app gets no startup event)."""
        async with self._lock:
            if self._store is None:
                self._store = await PostgresStore.open(
                    self.dsn, self.schema, pool_size=4
                )
                self._reads = ConsoleReads(self._store)
            return self._store

    async def reads(self) -> ConsoleReads:
        """The console's read statements."""
        await self.store()
        assert self._reads is not None
        return self._reads

    async def mesh(self, app_id: str) -> HotMesh:
        """A client of ``app_id`` that runs no engine work (signal, interrupt, ...)."""
        return HotMesh.attach(ids.check_app_id(app_id), await self.store())

    async def memflow(self, namespace: str) -> Any:
        """The MemFlow client of a namespace (its app id), made once."""
        async with self._lock:
            if namespace not in self._memflow:
                self._memflow[namespace] = MemFlow.Client(
                    {
                        "connection": {"dsn": self.dsn, "schema": self.schema},
                        "namespace": namespace,
                    }
                )
            return self._memflow[namespace]

    async def close(self) -> None:
        """Close the MemFlow clients and the store (the store even when a client
        fails to close: a lost database must not leave the pool open)."""
        clients, self._memflow = list(self._memflow.values()), {}
        try:
            for client in clients:
                try:
                    await client.close()
                except errors.HotMeshError as exc:
                    _log.warning("closing a MemFlow client failed: %s", exc)
        finally:
            if self._store is not None:
                store, self._store = self._store, None
                await store.close()

    def csrf(self, request: Request) -> str:
        nonce = getattr(request.state, "csrf_nonce", None) or request.cookies.get(
            CSRF_COOKIE, ""
        )
        return self.guard.csrf_for(nonce)

    def render(
        self, request: Request, template: str, http_status: int = 200, **values: Any
    ) -> HTMLResponse:
        """A page of ``template`` with the shared values (base path, CSRF, mode)."""
        page = self.templates.get_template(template)
        text = page.render(
            base=request.scope.get("root_path", ""),
            csrf=self.csrf(request),
            read_only=self.read_only,
            signed_in=self.guard.token is not None,
            path=request.url.path,
            **values,
        )
        return HTMLResponse(text, status_code=http_status)

    def problem(self, request: Request, status: int, message: str) -> Response:
        """An error answer: JSON for scripts and the console's own fetches, else a page."""
        if _wants_json(request):
            return JSONResponse({"ok": False, "error": message}, status_code=status)
        if status == 401:
            return self.render(
                request, "login.html", 401, message=message, next=_next(request)
            )
        return self.render(
            request, "problem.html", status, code=status, message=message
        )


def _wants_json(request: Request) -> bool:
    return request.headers.get("x-requested-with") == "hotmesh" or (
        "application/json" in request.headers.get("accept", "")
    )


def _next(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


Endpoint = Callable[[Request], Awaitable[Response]]


def _handled(
    console: Console, endpoint: Callable[[Console, Request], Awaitable[Response]]
) -> Endpoint:
    """Run a page or action, answering hotmesh errors with their status and message."""

    async def run(request: Request) -> Response:
        try:
            return await endpoint(console, request)
        except errors.ActionRefusedError as exc:
            return console.problem(request, 403, str(exc))
        except (errors.JobNotFoundError, errors.NotFoundError) as exc:
            return console.problem(request, 404, str(exc))
        except (
            errors.FilterError,
            errors.ConfigError,
            errors.InputValidationError,
        ) as exc:
            return console.problem(request, 400, str(exc))
        except (
            errors.JobInactiveError,
            errors.SignalNotKeptError,
            errors.StoreConflictError,
        ) as exc:
            return console.problem(request, 409, str(exc))
        except errors.StoreUnavailableError as exc:
            # its message masks the DSN's password
            return console.problem(request, 503, str(exc))
        except errors.HotMeshError as exc:
            return console.problem(request, 400, f"{type(exc).__name__}: {exc}")

    return run


def create_app(
    dsn: str | None = None,
    read_only: bool = False,
    token: str | None = None,
    *,
    schema: str = "hotmesh",
    allowed_hosts: Iterable[str] | None = None,
    codec: Any = None,
) -> Starlette:
    """The console as an ASGI app.

    ``dsn``: the database (default: ``DATABASE_URL``, else the embedded server).
    ``read_only``: no actions, and the server refuses them. ``token``: every
    request needs it, as ``Authorization: Bearer TOKEN`` or through the login
    form's cookie. ``allowed_hosts``: Host header names answered (the CLI
    passes the loopback names when it runs without a token). ``codec``:
    MemFlow's payload codec; the job and workflow pages then show its payloads
    decoded (without it, the envelopes as stored).
    """
    from hotmesh.dashboard import actions, pages

    url = config.resolve_dsn(dsn)
    guard = Guard(token, read_only, allowed_hosts)
    console = Console(url, schema, read_only, guard, codec)

    def page(fn: Callable[[Console, Request], Awaitable[Response]]) -> Endpoint:
        return _handled(console, fn)

    routes = [
        Route("/", page(pages.overview)),
        Route("/apps", page(pages.apps)),
        Route("/apps/{app_id}", page(pages.app)),
        Route("/jobs", page(pages.jobs)),
        Route("/jobs/{job_id}", page(pages.job)),
        Route("/workflows", page(pages.workflows)),
        Route("/workflows/{workflow_id}", page(pages.workflow)),
        Route("/escalations", page(pages.escalations)),
        Route("/login", page(pages.login), methods=["GET", "POST"]),
        Route("/jobs/{job_id}/{verb}", page(actions.job_action), methods=["POST"]),
        Route(
            "/workflows/{workflow_id}/{verb}",
            page(actions.workflow_action),
            methods=["POST"],
        ),
        Route(
            "/escalations/{escalation_id}/{verb}",
            page(actions.escalation_action),
            methods=["POST"],
        ),
        Mount(
            "/static",
            StaticFiles(directory=str(_HERE.joinpath("static"))),
            name="static",
        ),
    ]

    async def guarded(request: Request, call_next: Endpoint) -> Response:
        return await guard(request, call_next, console.problem)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> Any:
        try:
            yield
        finally:
            await console.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=guarded)],
        lifespan=lifespan,
        exception_handlers={404: _not_found(console), 405: _not_allowed(console)},
    )
    app.state.console = console
    return app


def _not_found(console: Console) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        return console.problem(request, 404, f"no page at {request.url.path}")

    return handle


def _not_allowed(
    console: Console,
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        return console.problem(request, 405, f"{request.method} is not allowed here")

    return handle
