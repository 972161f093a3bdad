"""No secrets logged: a DSN's password never appears in an error, a log line or CLI output.

Covered: failing connections (refused, unknown database, bad options) through
``HotMesh.init`` and the store's entry points; DSNs whose password sits in the
URL, in a query parameter or in key/value form; malformed URLs whose password
holds an unescaped ``/``, ``?`` or ``#`` (asyncpg's parser would echo a piece
of it); the LISTEN connection failing and coming back while jobs run; and the
command line with and without ``--debug``.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import traceback
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from hotmesh import HotMesh, errors
from hotmesh.config import mask_dsn
from hotmesh.store import (
    PostgresStore,
    migrate_database,
    schema_summary,
    server_version,
)
from hotmesh.testing import with_database

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Sekr1tPw"
#: pieces of the malformed passwords below: none may appear either
PIECES = (SECRET, "Sekr1t", "Pw9x")

REFUSED = [
    f"postgresql://hmuser:{SECRET}@127.0.0.1:1/hotmesh",
    f"postgresql://127.0.0.1:1/hotmesh?user=hmuser&password={SECRET}",
    f"host=127.0.0.1 port=1 user=hmuser password={SECRET} dbname=hotmesh",
    f"host=127.0.0.1 port=1 user=hmuser password='{SECRET} x' dbname=hotmesh",
    f"postgresql://hmuser:{SECRET}@127.0.0.1:1/hotmesh?sslmode=bogus",
    "postgresql://hmuser:Sekr1t/Pw9x@127.0.0.1:1/hotmesh",
    "postgresql://hmuser:Sekr1t?Pw9x@127.0.0.1:1/hotmesh",
    "postgresql://hmuser:Sekr1t#Pw9x@127.0.0.1:1/hotmesh",
    "postgresql://hmuser:Sekr1t@Pw9x@127.0.0.1:1/hotmesh",
]


def _with_password(dsn: str, password: str = SECRET) -> str:
    parts = urlsplit(dsn)
    user, _, host = parts.netloc.rpartition("@")
    user = (user or "postgres").split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def _clean(text: str) -> None:
    for piece in PIECES:
        assert piece not in text, f"{piece!r} leaked in: {text[:400]}"


def _clean_logs(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        _clean(record.getMessage())
        if record.exc_info:
            _clean("".join(traceback.format_exception(*record.exc_info)))
        _clean(record.exc_text or "")


@pytest.mark.parametrize("dsn", REFUSED)
async def test_failing_connections_never_show_the_password(
    dsn: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    attempts = [
        lambda: HotMesh.init("secret", engine={"connection": {"dsn": dsn}}),
        lambda: PostgresStore.open(dsn),
        lambda: migrate_database(dsn),
        lambda: server_version(dsn, 2),
        lambda: schema_summary(dsn, "hotmesh", 2),
    ]
    for attempt in attempts:
        with pytest.raises(Exception) as info:
            await attempt()
        _clean(str(info.value))
        _clean(repr(info.value))
        _clean("".join(traceback.format_exception(info.value)))
    with pytest.raises(errors.StoreUnavailableError) as info:
        await HotMesh.init("secret", engine={"connection": {"dsn": dsn}})
    assert "***" in str(info.value) or "password" not in dsn
    assert mask_dsn(dsn) in str(info.value)
    _clean_logs(caplog)
    out, err = capsys.readouterr()
    _clean(out + err)


async def test_an_unknown_database_with_a_password_is_masked(
    pg_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The server answers (and rejects the database): its error is shown, the
    password is not."""
    caplog.set_level(logging.DEBUG)
    dsn = _with_password(with_database(pg_server, "hm_no_such_database"))
    with pytest.raises(errors.StoreUnavailableError) as info:
        await HotMesh.init("secret", engine={"connection": {"dsn": dsn}})
    assert "hm_no_such_database" in str(info.value)
    assert ":***@" in str(info.value)
    _clean(str(info.value))
    _clean_logs(caplog)


async def test_a_lost_and_recovered_listener_logs_no_password(
    pg_dsn: str, pg_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A running process whose connections are cut and refused for a while logs
    warnings naming the masked DSN, never the password (the server trusts
    127.0.0.1, so any password connects)."""
    caplog.set_level(logging.DEBUG)
    warned = asyncio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING and "***" in record.getMessage():
                warned.set()

    watch = Watch()
    logging.getLogger("hotmesh").addHandler(watch)
    name = urlsplit(pg_dsn).path.lstrip("/")
    admin = await asyncpg.connect(pg_server)
    hm = await HotMesh.init(
        "secret", engine={"connection": {"dsn": _with_password(pg_dsn)}}
    )
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await asyncio.wait_for(warned.wait(), 20)
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
        await hm.stop()
        logging.getLogger("hotmesh").removeHandler(watch)
    _clean_logs(caplog)


def _cli(*args: str, dsn: str, home: Path) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOTMESH_HOME": str(home),
        "HOTMESH_DSN": dsn,
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "hotmesh", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode != 0 or args[-1] == "url", done
    return done.stdout + done.stderr


@pytest.mark.parametrize(
    "dsn",
    [REFUSED[0], REFUSED[5], REFUSED[2]],
    ids=["url", "malformed", "key-value"],
)
def test_the_command_line_never_shows_the_password(dsn: str, tmp_path: Path) -> None:
    outputs = [
        _cli("db", "status", "--timeout", "2", dsn=dsn, home=tmp_path),
        _cli("db", "migrate", dsn=dsn, home=tmp_path),
        _cli("--debug", "pub", "x.y", dsn=dsn, home=tmp_path),
        _cli("db", "url", dsn=dsn, home=tmp_path),
    ]
    for output in outputs:
        _clean(output)
    assert "***" in outputs[-1]


@pytest.mark.parametrize("dsn", REFUSED)
def test_mask_dsn_hides_every_password_shape(dsn: str) -> None:
    masked = mask_dsn(dsn)
    _clean(masked)
    assert "***" in masked
