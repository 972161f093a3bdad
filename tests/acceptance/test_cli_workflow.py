"""`hotmesh workflow ...` in subprocesses against real PostgreSQL and a real worker."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import as_json, hotmesh, ok, serve

CODE = "tests/acceptance/cli_workflows.py:approvals"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "hm"


@pytest.fixture
def worker(pg_dsn: str, home: Path) -> Any:
    proc = serve(
        "memflow",
        "worker",
        CODE,
        "-q",
        "cli-q",
        home=home,
        dsn=pg_dsn,
        ready="memflow worker ready",
    )
    yield proc
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_workflow_commands_against_a_running_worker(
    pg_dsn: str, home: Path, worker: Any
) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return hotmesh(*args, home=home, dsn=pg_dsn)

    def start(wid: str, needed: int) -> None:
        ok(
            cli(
                "memflow",
                "start",
                "approvals",
                "-q",
                "cli-q",
                "--args",
                f"[{needed}]",
                "--id",
                wid,
            )
        )

    start("wf-a", 2)
    start("wf-b", 1)
    start("wf-c", 5)
    start("wf-d", 5)

    # signals apply in order; a query (replaying the workflow's code here) sees them
    ok(cli("workflow", "signal", "wf-a", "approve", "--args", '["ann"]'))
    status = as_json(cli("workflow", "query", "wf-a", "status", "--workflow", CODE))
    assert status == {"approved": ["ann"], "qty": 1}
    # an update returns its handler's value; its validator refuses bad input
    assert (
        as_json(cli("workflow", "update", "wf-a", "change_qty", "--args", "[3]")) == 1
    )
    refused = cli("workflow", "update", "wf-a", "change_qty", "--args", "[0]")
    assert refused.returncode == 1
    assert "qty must be positive, not 0" in refused.stderr.splitlines()[-1]
    ok(cli("workflow", "signal", "wf-a", "approve", "--args", '["bob"]'))
    done = as_json(cli("memflow", "result", "wf-a", "-q", "cli-q", "-w", "approvals"))
    assert done == {"approved": ["ann", "bob"], "qty": 3}

    ok(cli("workflow", "signal", "wf-b", "approve", "--args", '["cy"]'))
    as_json(cli("memflow", "result", "wf-b", "-q", "cli-q", "-w", "approvals"))

    # unknown handlers: the error lists the known names
    unknown_query = cli("workflow", "query", "wf-c", "stat", "--workflow", CODE)
    assert unknown_query.returncode == 1
    line = unknown_query.stderr.splitlines()[-1]
    assert "no query handler 'stat'" in line and "did you mean 'status'" in line
    unknown_update = cli("workflow", "update", "wf-c", "change", "--args", "[1]")
    assert unknown_update.returncode == 1
    assert "'change_qty'" in unknown_update.stderr.splitlines()[-1]

    # cancel and terminate; cancelling a finished workflow is a clear error
    assert (
        "cancellation requested"
        in ok(cli("workflow", "cancel", "wf-c", "-r", "no stock")).stdout
    )
    ok(cli("workflow", "terminate", "wf-d", "-r", "incident 7"))
    for wid in ("wf-c", "wf-d"):
        cli(
            "memflow", "result", wid, "-q", "cli-q", "-w", "approvals"
        )  # waits for the end
    again = cli("workflow", "cancel", "wf-a")
    assert again.returncode == 1
    assert again.stderr.splitlines()[-1] == (
        "error: workflow 'wf-a' has already ended (completed): nothing to cancel"
    )
    ended = cli("workflow", "terminate", "wf-c")
    assert "has already ended (cancelled)" in ended.stderr.splitlines()[-1]

    listed = as_json(cli("workflow", "list", "--json"))["workflows"]
    assert {w["workflow_id"]: w["status"] for w in listed} == {
        "wf-a": "completed",
        "wf-b": "completed",
        "wf-c": "cancelled",
        "wf-d": "terminated",
    }
    table = ok(
        cli("workflow", "list", "--status", "completed", "-w", "approvals")
    ).stdout
    assert "wf-a" in table and "wf-b" in table and "wf-c" not in table
    assert "completed" in table and "cli-q" in table
    page = as_json(cli("workflow", "list", "--limit", "3", "--json"))
    rest = as_json(cli("workflow", "list", "--cursor", page["cursor"], "--json"))
    ids = [w["workflow_id"] for w in page["workflows"] + rest["workflows"]]
    assert sorted(ids) == ["wf-a", "wf-b", "wf-c", "wf-d"]

    # reset: wf-a re-runs from its start, its recorded signals and update replayed
    missing_step = cli("workflow", "reset", "wf-a", "--to-step", "5")
    assert missing_step.returncode == 1
    assert "has no step 5 to reset to" in missing_step.stderr.splitlines()[-1]
    reset = ok(cli("workflow", "reset", "wf-a", "--to-step", "1")).stdout
    assert "workflow 'wf-a' reset: new run" in reset
    again = as_json(cli("memflow", "result", "wf-a", "-q", "cli-q", "-w", "approvals"))
    assert again == {"approved": ["ann", "bob"], "qty": 3}
    neither = cli("workflow", "reset", "wf-a")
    assert neither.returncode == 2 and "--to-step" in neither.stderr

    about = as_json(cli("workflow", "describe", "wf-d", "--json"))
    assert about["status"] == "terminated" and about["task_queue"] == "cli-q"
    assert "incident 7" in json.dumps(about["error"])
    shown = ok(cli("workflow", "describe", "wf-c")).stdout
    assert "cancelled" in shown and "approvals" in shown and "no stock" in shown


def test_workflow_command_errors_are_one_line(pg_dsn: str, home: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return hotmesh(*args, home=home, dsn=pg_dsn)

    missing = cli("workflow", "describe", "nope")
    assert missing.returncode == 1
    assert missing.stderr.splitlines()[-1].startswith(
        "error: no workflow 'nope' in namespace 'memflow'"
    )
    for command in ("cancel", "terminate"):
        run = cli("workflow", command, "nope")
        assert "no workflow 'nope'" in run.stderr.splitlines()[-1]
    no_code = cli("workflow", "query", "nope", "status")
    assert no_code.returncode == 1
    assert "pass --workflow MODULE:FUNCTION" in no_code.stderr.splitlines()[-1]
    bad = cli("workflow", "signal", "x", "s", "--args", "{}")
    assert bad.stderr.splitlines()[-1] == "error: --args must be a JSON array"
    status = cli("workflow", "list", "--status", "runing")
    assert status.returncode == 2 and "runing" in status.stderr
    assert "no workflows" in ok(cli("workflow", "list")).stdout
