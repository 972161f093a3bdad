"""Which database hotmesh uses, and the settings that come from kwargs and ``HOTMESH_*`` env."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from hotmesh import embedded, errors

#: Environment variables consulted, in order, before the embedded default.
DSN_ENV_VARS: tuple[str, ...] = ("HOTMESH_DSN", "DATABASE_URL")

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MASK = "***"
_announce_lock = threading.Lock()
_announced = False


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
    the first fallback in a process prints one line on stderr naming it.
    """
    dsn = configured_dsn(explicit)
    if dsn is not None:
        return dsn
    server = embedded.ensure_started()
    _announce(
        f"hotmesh: using embedded PostgreSQL at {server.data_dir} (set DATABASE_URL to use your own)"
    )
    return server.dsn


def _announce(line: str) -> None:
    global _announced
    with _announce_lock:
        if _announced:
            return
        _announced = True
    print(line, file=sys.stderr, flush=True)


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


@dataclass(frozen=True)
class Settings:
    """Resolved settings. ``dsn`` is None until :meth:`with_dsn`/``resolve_dsn`` fills it."""

    dsn: str | None = None
    schema: str = "hotmesh"
    namespace: str = "hotmesh"

    def __post_init__(self) -> None:
        validate_name(self.schema, "schema name")
        validate_name(self.namespace, "app namespace")

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Settings from *overrides* (None values ignored), then ``HOTMESH_*`` env."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field, var in (
            ("dsn", "HOTMESH_DSN"),
            ("schema", "HOTMESH_SCHEMA"),
            ("namespace", "HOTMESH_NAMESPACE"),
        ):
            given = overrides.pop(field, None)
            if given is None:
                given = source.get(var) or None
            if given is not None:
                values[field] = given
        if overrides:
            unknown = ", ".join(sorted(overrides))
            raise errors.ConfigError(f"unknown setting(s): {unknown}")
        if "dsn" not in values and source.get("DATABASE_URL"):
            values["dsn"] = source["DATABASE_URL"]
        return cls(**values)

    def resolved(self) -> Settings:
        """A copy whose ``dsn`` is set, starting the embedded server if needed."""
        if self.dsn:
            return self
        return Settings(
            dsn=resolve_dsn(None), schema=self.schema, namespace=self.namespace
        )

    def __repr__(self) -> str:
        dsn = mask_dsn(self.dsn) if self.dsn else None
        return f"Settings(dsn={dsn!r}, schema={self.schema!r}, namespace={self.namespace!r})"
