"""Which database hotmesh uses: an explicit DSN, ``HOTMESH_*`` env, or the embedded server.

The options of ``HotMesh.init`` are checked in ``hotmesh.engine.options``.
"""

from __future__ import annotations

import os
import re
import threading
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from hotmesh import embedded, errors
from hotmesh.telemetry import logs

#: Environment variables consulted, in order, before the embedded default.
DSN_ENV_VARS: tuple[str, ...] = ("HOTMESH_DSN", "DATABASE_URL")

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MASK = "***"
_announce_lock = threading.Lock()
_announced = False
#: says once per process which database is used when none was configured
#: (the CLI prints it as ``hotmesh: ...``; Python's last-resort handler as is)
notice_log = logs.get("hotmesh.notice")


def configured_dsn(explicit: str | None = None) -> str | None:
    """The DSN given explicitly or through the environment, or None."""
    if explicit is not None and explicit.strip():
        return explicit.strip()
    for name in DSN_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def resolve_dsn(explicit: str | None = None) -> str:
    """The DSN to use: *explicit* → ``HOTMESH_DSN`` → ``DATABASE_URL`` → embedded.

    The embedded server is started on demand (and reused when already up);
    the first fallback in a process logs one warning naming it (logger
    ``hotmesh.notice``).
    """
    dsn = configured_dsn(explicit)
    if dsn is not None:
        return dsn
    server = embedded.ensure_started()
    _announce(
        f"using embedded PostgreSQL at {server.data_dir} (set DATABASE_URL to use your own)"
    )
    return server.dsn


def _announce(line: str) -> None:
    global _announced
    with _announce_lock:
        if _announced:
            return
        _announced = True
    notice_log.warning("%s", line)


def mask_dsn(dsn: str) -> str:
    """*dsn* with every password replaced by ``***`` (URL, query or key/value form)."""
    text = dsn.strip()
    if "://" in text:
        return _mask_url(text)
    # libpq key/value form: password=secret or password='se cret'
    return re.sub(
        r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)",
        lambda m: m.group(1) + _MASK,
        text,
        flags=re.IGNORECASE,
    )


def _mask_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    colon, at = rest.find(":"), rest.rfind("@")
    if -1 < colon < at and not any(c in rest[:colon] for c in "/?#"):
        # user:password@host. A password may hold an unescaped '/', '?', '#'
        # or '@', which would end the URL's userinfo early: hide everything
        # from the first ':' to the last '@'.
        dsn = f"{scheme}://{rest[:colon]}:{_MASK}@{rest[at + 1 :]}"
    try:
        parts = urlsplit(dsn)
    except ValueError:
        # Unparseable: hide everything between "://" and the last "@".
        return re.sub(r"(://[^:/@]*:)[^@]*@", rf"\1{_MASK}@", dsn)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{_MASK}@{hostinfo}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() == "password" for k, _ in pairs):
            query = urlencode(
                [(k, _MASK if k.lower() == "password" else v) for k, v in pairs],
                safe="*/:",
                quote_via=quote,
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def validate_name(value: str, what: str) -> str:
    """Return *value* if it is a safe lower-case SQL identifier, else raise ``ConfigError``."""
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise errors.ConfigError(
            f"invalid {what} {value!r}: use 1-63 characters of a-z, 0-9 and _, "
            "not starting with a digit"
        )
    return value
