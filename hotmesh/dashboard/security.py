"""The console's guard: loopback binds, the token (bearer header or login
cookie), CSRF tokens for forms, read-only mode, and safe headers.

Requests are checked in one ASGI middleware so that no page or action can
forget: an action refused here never reaches the HotMesh API.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Iterable

from starlette.requests import Request
from starlette.responses import Response

from hotmesh import errors

AUTH_COOKIE = "hotmesh_auth"
CSRF_COOKIE = "hotmesh_csrf"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")
#: no inline script or style, nothing from elsewhere, not framed
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def is_loopback(host: str) -> bool:
    """Whether a bind address (or host name) reaches this machine only."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a bind beyond loopback without a token (``ConfigError`` naming --token)."""
    if token is None and not is_loopback(host):
        raise errors.ConfigError(
            f"--host {host} is reachable from other machines: pass --token SECRET "
            "(or HOTMESH_DASHBOARD_TOKEN) so that only people with the token can "
            "use the console, or bind to 127.0.0.1"
        )
    if token is not None and len(token) < 8:
        raise errors.ConfigError("--token must be at least 8 characters")


def session_value(token: str) -> str:
    """The login cookie's value: a MAC of the token, never the token itself."""
    return hmac.new(
        token.encode(), b"hotmesh-dashboard-login", hashlib.sha256
    ).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(a.encode(), b.encode())


class Guard:
    """Checks every request: host, token, read-only; and issues CSRF tokens."""

    def __init__(
        self, token: str | None, read_only: bool, allowed_hosts: Iterable[str] | None
    ) -> None:
        self.token = token
        self.read_only = read_only
        self.allowed_hosts = None if allowed_hosts is None else set(allowed_hosts)
        self._secret = secrets.token_bytes(32)

    def csrf_for(self, nonce: str) -> str:
        """The form token that goes with a browser's CSRF cookie."""
        return hmac.new(self._secret, nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, request: Request, given: str | None) -> bool:
        """Whether ``given`` is the form token of this browser's cookie."""
        nonce = request.cookies.get(CSRF_COOKIE)
        if not nonce or not given:
            return False
        return same(self.csrf_for(nonce), given)

    def bearer(self, request: Request) -> bool | None:
        """True for a right bearer token, False for a wrong one, None for none."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or self.token is None:
            return False
        return same(value.strip(), self.token)

    def authorized(self, request: Request) -> bool | None:
        """True when let in, False for wrong credentials, None for none given."""
        if self.token is None:
            return True
        by_header = self.bearer(request)
        if by_header is not None:
            return by_header
        cookie = request.cookies.get(AUTH_COOKIE)
        if cookie is None:
            return None
        return same(cookie, session_value(self.token))

    def host_ok(self, request: Request) -> bool:
        """The Host header names an allowed host (DNS rebinding on loopback)."""
        if self.allowed_hosts is None:
            return True
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.allowed_hosts

    async def __call__(
        self,
        request: Request,
        call_next: Callable[[Request], Awaitable[Response]],
        refuse: Callable[[Request, int, str], Response],
    ) -> Response:
        if not self.host_ok(request):
            return refuse(
                request, 400, "this console answers on its loopback address only"
            )
        path = request.url.path[len(request.scope.get("root_path", "")) :]
        open_path = path.startswith("/static/") or path == "/login"
        if not open_path:
            allowed = self.authorized(request)
            if allowed is None:
                return refuse(request, 401, "sign in with the console's token")
            if allowed is False:
                return refuse(request, 403, "the token is wrong")
        if request.method not in ("GET", "HEAD") and path != "/login":
            if self.read_only:
                return refuse(
                    request, 403, "the console is read-only: actions are refused"
                )
        nonce = request.cookies.get(CSRF_COOKIE)
        fresh = nonce is None
        if nonce is None:
            nonce = secrets.token_urlsafe(24)
            # for the forms of this very response (the cookie is not back yet)
            request.state.csrf_nonce = nonce
        response = await call_next(request)
        if fresh:
            response.set_cookie(
                CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/"
            )
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response
