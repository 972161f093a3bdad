"""Run ``python -m hotmesh`` as a user would: a subprocess with a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def clean_env(home: Path, dsn: str | None, **extra: str) -> dict[str, str]:
    """The current environment without HOTMESH_*/DATABASE_URL, plus *dsn* and *extra*."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HOTMESH_")
        and k not in ("DATABASE_URL", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")
    }
    env["HOTMESH_HOME"] = str(home)
    if dsn is not None:
        env["HOTMESH_DSN"] = dsn
    env.update(extra)
    return env


def hotmesh(
    *args: str,
    home: Path,
    dsn: str | None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``python -m hotmesh ARGS`` run from the checkout root; returns the finished process."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "hotmesh", *args],
        env=clean_env(home, dsn, **(env or {})),
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def serve(*args: str, home: Path, dsn: str | None, ready: str) -> subprocess.Popen[str]:
    """Start a long-running ``python -m hotmesh ARGS``; return once stderr says ``ready``."""
    proc = subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "hotmesh", *args],
        env=clean_env(home, dsn),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # blocks until the process says it is ready
        if ready in line:
            return proc
    proc.wait(5)
    raise AssertionError(f"{args[0]} exited {proc.returncode} before it was ready")


def ok(run: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """*run*, asserting it exited 0 (showing stderr if not)."""
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr}\n{run.stdout}"
    return run


def as_json(run: subprocess.CompletedProcess[str]) -> Any:
    """The stdout of a successful run, parsed."""
    return json.loads(ok(run).stdout)
