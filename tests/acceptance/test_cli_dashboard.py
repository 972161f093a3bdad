"""``hotmesh dashboard`` as a user runs it: after ``hotmesh demo`` on the
embedded default, a plain ``hotmesh dashboard`` shows the demo's jobs; a bind
beyond loopback without --token is refused, naming --token."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hotmesh import embedded
from tests.acceptance.cli import ROOT, as_json, clean_env, hotmesh, ok


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A private HOTMESH_HOME; any embedded server started in it is stopped after."""
    root = tmp_path / "hm"
    yield root
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTMESH_HOME", str(root))
        embedded.stop()


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return err


def test_a_public_bind_without_token_is_refused(home: Path) -> None:
    for host in ("0.0.0.0", "192.0.2.10", "::"):
        run = hotmesh("dashboard", "--host", host, home=home, dsn=None)
        assert run.returncode == 1, run.stderr
        assert "--token" in run.stderr.splitlines()[-1]
        assert f"--host {host}" in run.stderr
    assert not home.exists()  # refused before any database is reached


def test_demo_then_plain_dashboard_on_the_embedded_default(home: Path) -> None:
    demo = ok(hotmesh("demo", home=home, dsn=None, timeout=180))
    assert "hotmesh dashboard" in demo.stdout  # the demo tells how to look
    jobs = as_json(hotmesh("jobs", "--json", home=home, dsn=None))
    console, port = _serve(home)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            page = client.get("/jobs").text
            for job in jobs:
                assert job["job_id"] in page
            assert client.get("/apps/orders").status_code == 200
            # a loopback console answers loopback names only (DNS rebinding)
            assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    finally:
        _stop(console)


def _serve(home: Path) -> tuple[subprocess.Popen[str], int]:
    """A plain ``hotmesh dashboard`` on a free port, once it says where it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "hotmesh", "dashboard", "--port", "0"],
        env=clean_env(home, None),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # blocks until it listens (or exits)
        found = re.search(r"hotmesh dashboard on http://127\.0\.0\.1:(\d+)/", line)
        if found:
            return proc, int(found.group(1))
    proc.wait(5)
    raise AssertionError(f"dashboard exited {proc.returncode} before it listened")
