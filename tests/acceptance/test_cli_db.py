"""``hotmesh db ...`` run as a user would: ``python -m hotmesh`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from hotmesh import embedded

SECRET = "hunter2"
UNREACHABLE = f"postgresql://postgres:{SECRET}@127.0.0.1:1/postgres"


def hotmesh(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m hotmesh ARGS`` with a clean environment and a private home."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HOTMESH_")
        and k not in ("DATABASE_URL", "FORCE_COLOR", "TTY_COMPATIBLE")
    }
    clean["HOTMESH_HOME"] = str(home)
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "hotmesh", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A private HOTMESH_HOME; any embedded server started in it is stopped after."""
    root = tmp_path / "hm"
    yield root
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTMESH_HOME", str(root))
        embedded.stop()


# --------------------------------------------------------------------------
# A configured server: hotmesh never starts anything


def test_status_reports_a_reachable_configured_server(
    pg_server: str, home: Path
) -> None:
    run = hotmesh("db", "status", "--dsn", pg_server, home=home)
    assert run.returncode == 0, run.stderr
    assert "configured PostgreSQL (from --dsn): reachable, PostgreSQL" in run.stdout
    assert not home.exists()  # nothing embedded was touched


@pytest.mark.parametrize("var", ["HOTMESH_DSN", "DATABASE_URL"])
def test_status_names_the_env_var_in_use(pg_server: str, home: Path, var: str) -> None:
    run = hotmesh("db", "status", home=home, env={var: pg_server})
    assert run.returncode == 0, run.stderr
    assert f"(from {var}): reachable" in run.stdout


def test_unreachable_server_is_one_masked_line_and_exit_1(home: Path) -> None:
    run = hotmesh(
        "db", "status", "--timeout", "2", home=home, env={"HOTMESH_DSN": UNREACHABLE}
    )
    assert run.returncode == 1
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(
        "error: cannot reach PostgreSQL at postgresql://postgres:***@127.0.0.1:1/postgres"
        " (from HOTMESH_DSN):"
    )
    assert SECRET not in run.stderr
    assert "Traceback" not in run.stderr


def test_url_masks_the_password_unless_asked(home: Path) -> None:
    masked = hotmesh("db", "url", home=home, env={"DATABASE_URL": UNREACHABLE})
    assert masked.returncode == 0, masked.stderr
    assert masked.stdout == "postgresql://postgres:***@127.0.0.1:1/postgres\n"
    assert masked.stderr == ""  # no "using embedded" line: a DSN is configured

    shown = hotmesh("db", "url", "--show-password", "--dsn", UNREACHABLE, home=home)
    assert shown.stdout == UNREACHABLE + "\n"
    assert not home.exists()


@pytest.mark.parametrize("command", ["start", "stop"])
def test_start_and_stop_refuse_when_a_dsn_is_configured(
    home: Path, command: str
) -> None:
    run = hotmesh("db", command, home=home, env={"DATABASE_URL": UNREACHABLE})
    assert run.returncode == 1
    assert run.stderr.startswith(
        "error: DATABASE_URL is set (postgresql://postgres:***@127.0.0.1:1/postgres)"
    )
    assert SECRET not in run.stderr
    assert not home.exists()


@pytest.mark.parametrize(
    ("command", "env_vars"),
    [
        ("start", ["HOTMESH_DSN"]),
        ("stop", ["HOTMESH_DSN"]),
        ("status", ["HOTMESH_DSN", "HOTMESH_CONNECT_TIMEOUT"]),
        ("url", ["HOTMESH_DSN", "HOTMESH_SHOW_PASSWORD"]),
    ],
)
def test_help_shows_every_env_mirror(
    home: Path, command: str, env_vars: list[str]
) -> None:
    run = hotmesh("db", command, "--help", home=home)
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())  # click wraps long help lines
    for var in env_vars:
        assert f"env var: {var}" in text


# --------------------------------------------------------------------------
# The embedded default


async def test_embedded_lifecycle_from_the_command_line(home: Path) -> None:
    pgdata = home / "pgdata"

    idle = hotmesh("db", "status", home=home)
    assert idle.returncode == 0, idle.stderr
    assert "embedded PostgreSQL: not running (starts on demand)" in idle.stdout
    assert f"data dir: {pgdata}" in idle.stdout

    url = hotmesh("db", "url", home=home)  # starts it on demand
    assert url.returncode == 0, url.stderr
    dsn = url.stdout.strip()
    assert dsn.startswith("postgresql://postgres@/hotmesh?host=")
    assert url.stderr.splitlines() == [
        f"hotmesh: using embedded PostgreSQL at {pgdata} "
        "(set DATABASE_URL to use your own)"
    ]

    # The server outlived `db url`; later commands reuse it.
    running = hotmesh("db", "status", home=home)
    assert "embedded PostgreSQL: running (pid " in running.stdout
    assert f"dsn:      {dsn}" in running.stdout
    again = hotmesh("db", "start", home=home)
    assert again.returncode == 0, again.stderr
    assert "embedded PostgreSQL already running" in again.stdout
    assert hotmesh("db", "url", home=home).stdout.strip() == dsn

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        assert await conn.fetchval("SELECT current_database()") == "hotmesh"
    finally:
        await conn.close()

    stopped = hotmesh("db", "stop", home=home)
    assert stopped.returncode == 0, stopped.stderr
    assert f"embedded PostgreSQL stopped (data kept in {pgdata})" in stopped.stdout
    assert "not running" in hotmesh("db", "status", home=home).stdout
    assert "is not running" in hotmesh("db", "stop", home=home).stdout

    started = hotmesh("db", "start", home=home)
    assert started.returncode == 0, started.stderr
    assert "embedded PostgreSQL started (pid " in started.stdout
