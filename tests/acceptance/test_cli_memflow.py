"""`hotmesh memflow worker|start|result` in subprocesses against real PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.cli import hotmesh, ok, serve

EXAMPLE = "examples/memflow_order.py"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "hm"


def _worker(home: Path, dsn: str, *args: str) -> subprocess.Popen[str]:
    return serve(
        "memflow", "worker", *args, home=home, dsn=dsn, ready="memflow worker ready"
    )


def test_memflow_worker_start_and_result(pg_dsn: str, home: Path) -> None:
    activities = [
        f"--activities={EXAMPLE}:{name}"
        for name in ("check_inventory", "reserve_item", "notify_backorder")
    ]
    worker = _worker(
        home,
        pg_dsn,
        f"{EXAMPLE}:order_workflow",
        "--task-queue",
        "orders",
        "--activity-queue",
        "inventory-tasks",
        *activities,
    )
    try:
        waited = ok(
            hotmesh(
                "memflow",
                "start",
                "order_workflow",
                "-q",
                "orders",
                "--args",
                '["item-123", 5]',
                "--id",
                "cli-order-1",
                "--wait",
                home=home,
                dsn=pg_dsn,
            )
        )
        started = ok(
            hotmesh(
                "memflow",
                "start",
                "order_workflow",
                "-q",
                "orders",
                "--args",
                '["item-9", 1]',
                "--id",
                "cli-order-2",
                home=home,
                dsn=pg_dsn,
            )
        )
        result = ok(
            hotmesh(
                "memflow",
                "result",
                "cli-order-2",
                "-q",
                "orders",
                "-w",
                "order_workflow",
                home=home,
                dsn=pg_dsn,
            )
        )
        duplicate = hotmesh(
            "memflow",
            "start",
            "order_workflow",
            "-q",
            "orders",
            "--args",
            '["item-123", 1]',
            "--id",
            "cli-order-1",
            home=home,
            dsn=pg_dsn,
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=20)
    assert worker.returncode == 0, err
    assert json.loads(waited.stdout) == "reserved 5 of item-123"
    assert started.stdout.strip() == "cli-order-2"
    assert json.loads(result.stdout) == "backordered"
    assert duplicate.returncode == 1
    assert "cli-order-1" in duplicate.stderr.splitlines()[-1]


def test_memflow_errors_are_one_line(pg_dsn: str, home: Path) -> None:
    bad_args = hotmesh(
        "memflow", "start", "w", "-q", "q", "--args", "{}", home=home, dsn=pg_dsn
    )
    assert bad_args.returncode == 1
    assert bad_args.stderr.splitlines()[-1] == "error: --args must be a JSON array"
    nothing = hotmesh("memflow", "worker", "-q", "q", home=home, dsn=pg_dsn)
    assert nothing.returncode == 1
    assert "give at least one workflow" in nothing.stderr.splitlines()[-1]
