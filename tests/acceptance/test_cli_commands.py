"""Every database command of ``hotmesh``, run in a subprocess against real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotmesh import HotMesh, embedded
from hotmesh.store.sql import migrations
from tests.acceptance.cli import ROOT, as_json, hotmesh, ok, serve

HELLO = str(ROOT / "graphs" / "hello.yaml")

# A parent that awaits a child graph; no workers, so `pubsub` alone finishes it.
FAMILY = """\
app:
  id: family
  version: '1'
  graphs:
    - subscribes: family.start
      activities:
        t1:
          type: trigger
          stats: { id: '{$self.input.data.id}' }
        a1:
          type: await
          topic: family.child
          input: { maps: { name: '{t1.output.data.name}' } }
          job: { maps: { greeting: '{a1.output.data.greeting}' } }
      transitions:
        t1: [{ to: a1 }]
    - subscribes: family.child
      activities:
        c1:
          type: trigger
          job:
            maps:
              greeting:
                '@pipe':
                  - ['Hello, ', '{c1.output.data.name}']
                  - ['{@string.concat}']
"""

BAD_INPUT = "input: { maps: { name: { '@pipe': [['not json'], ['{@json.parse}']] } } }"

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/postgres"

# A job that waits at a hook until a signal on sig.resume names it.
WAITER = """\
app:
  id: waiter
  version: '1'
  graphs:
    - subscribes: waiter.start
      publishes: waiter.done
      activities:
        t1:
          type: trigger
          stats: { id: '{$self.input.data.id}' }
        a1:
          type: hook
          job: { maps: { answer: '{a1.hook.data.answer}' } }
      transitions:
        t1: [{ to: a1 }]
      hooks:
        sig.resume:
          - to: a1
            conditions:
              match:
                - expected: '{$job.metadata.jid}'
                  actual: '{$self.hook.data.id}'
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private HOTMESH_HOME (no test here starts the embedded server)."""
    return tmp_path / "hm"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------
# db migrate, db status


def test_db_migrate_then_status_shows_version_and_counts(
    pg_dsn: str, home: Path
) -> None:
    before = ok(hotmesh("db", "status", home=home, dsn=pg_dsn))
    assert "schema:   hotmesh not created yet (hotmesh db migrate)" in before.stdout

    numbers = [n for n, _ in migrations('"x"')]
    applied = ", ".join(str(n) for n in numbers)
    first = ok(hotmesh("db", "migrate", home=home, dsn=pg_dsn))
    assert first.stdout == f"schema hotmesh: applied migration(s) {applied}\n"
    assert first.stderr.startswith("hotmesh: using PostgreSQL at postgresql://")
    again = ok(hotmesh("--schema", "other", "db", "migrate", home=home, dsn=pg_dsn))
    assert again.stdout == f"schema other: applied migration(s) {applied}\n"
    assert ok(hotmesh("db", "migrate", home=home, dsn=pg_dsn)).stdout == (
        "schema hotmesh: up to date\n"
    )

    ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    ok(hotmesh("pub", "hello.requested", "-d", '{"name": "a"}', home=home, dsn=pg_dsn))
    after = ok(hotmesh("db", "status", home=home, dsn=pg_dsn)).stdout
    assert f"schema:   hotmesh, version {numbers[-1]}" in after
    assert "apps:     1 (1 versions deployed)" in after
    assert "jobs:     1 running, 0 done, 0 failed" in after
    assert "messages: 1 pending" in after  # the greet work item, no worker running


# --------------------------------------------------------------------------
# deploy, activate, apps


def test_deploy_activate_and_apps(pg_dsn: str, home: Path, tmp_path: Path) -> None:
    v2 = write(
        tmp_path,
        "hello2.yaml",
        Path(HELLO).read_text("utf-8").replace("version: '1'", "version: '2'"),
    )
    run = ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    assert run.stdout == "deployed app hello version 1 and activated\n"
    assert ok(hotmesh("deploy", v2, home=home, dsn=pg_dsn)).stdout == (
        "deployed app hello version 2\n"
    )
    rows = as_json(hotmesh("apps", "--json", home=home, dsn=pg_dsn))
    assert [(r["app_id"], r["version"], r["active"]) for r in rows] == [
        ("hello", "1", True),
        ("hello", "2", False),
    ]

    # --app is optional while one app is deployed
    assert ok(hotmesh("activate", "2", home=home, dsn=pg_dsn)).stdout == (
        "activated app hello version 2\n"
    )
    table = ok(hotmesh("apps", home=home, dsn=pg_dsn)).stdout
    lines = [line for line in table.splitlines() if "hello" in line]
    assert len(lines) == 2 and "active" not in lines[0] and "active" in lines[1]

    family = write(tmp_path, "family.yaml", FAMILY)
    ok(hotmesh("deploy", family, home=home, dsn=pg_dsn))
    ambiguous = hotmesh("activate", "1", home=home, dsn=pg_dsn)
    assert ambiguous.returncode == 1
    assert ambiguous.stderr.splitlines()[-1] == (
        "error: several apps are deployed (family, hello); pass --app or set HOTMESH_APP"
    )
    missing = hotmesh("activate", "9", "--app", "hello", home=home, dsn=pg_dsn)
    assert missing.returncode == 1
    assert missing.stderr.splitlines()[-1] == (
        "error: app 'hello' has no deployed version '9'"
    )


def test_deploy_refuses_a_changed_plan_under_the_same_version(
    pg_dsn: str, home: Path, tmp_path: Path
) -> None:
    ok(hotmesh("deploy", HELLO, home=home, dsn=pg_dsn))
    changed = write(
        tmp_path,
        "hello.yaml",
        Path(HELLO).read_text("utf-8").replace("Hello, ", "Hi, "),
    )
    run = hotmesh("deploy", changed, home=home, dsn=pg_dsn)
    assert run.returncode == 1
    assert "version '1' is already deployed with a different plan" in run.stderr


# --------------------------------------------------------------------------
# pub, pubsub, status, jobs, history, scrub


def test_pub_with_data_file_and_count(pg_dsn: str, home: Path, tmp_path: Path) -> None:
    ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    data = write(tmp_path, "in.json", '{"name": "file"}')
    one = ok(
        hotmesh("pub", "hello.requested", "--data", f"@{data}", home=home, dsn=pg_dsn)
    )
    job_id = one.stdout.strip()
    assert len(one.stdout.splitlines()) == 1 and job_id

    many = ok(hotmesh("pub", "hello.requested", "--count", "25", home=home, dsn=pg_dsn))
    ids = many.stdout.split()
    assert len(ids) == 25 and len(set(ids)) == 25 and job_id not in ids
    assert "publishing" in many.stderr and "25/25" in many.stderr
    assert "published 25 jobs in" in many.stderr

    running = as_json(
        hotmesh(
            "jobs",
            "--status",
            "running",
            "--limit",
            "100",
            "--json",
            home=home,
            dsn=pg_dsn,
        )
    )
    assert {r["job_id"] for r in running} == {job_id, *ids}
    assert (
        as_json(hotmesh("jobs", "--status", "done", "--json", home=home, dsn=pg_dsn))
        == []
    )
    state = as_json(hotmesh("status", job_id, "--json", home=home, dsn=pg_dsn))
    assert state["state"] == "running" and state["topic"] == "hello.requested"


def test_pub_rejects_bad_data_in_one_line(pg_dsn: str, home: Path) -> None:
    ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    for data, message in (
        ("{nope", "error: --data is not valid JSON: "),
        ("[1]", "error: --data must be a JSON object, not list"),
        ('{"name": 5}', "error: input for 'hello.requested' is invalid at /name: "),
        ("@missing.json", "error: cannot read --data file missing.json: "),
    ):
        run = hotmesh("pub", "hello.requested", "-d", data, home=home, dsn=pg_dsn)
        assert run.returncode == 1, data
        assert run.stdout == ""
        last = run.stderr.splitlines()[-1]
        assert last.startswith(message), run.stderr
        assert "Traceback" not in run.stderr
    jobs = as_json(hotmesh("jobs", "--json", home=home, dsn=pg_dsn))
    assert jobs == []  # nothing was written


def test_pubsub_status_history_jobs_and_scrub(
    pg_dsn: str, home: Path, tmp_path: Path
) -> None:
    family = write(tmp_path, "family.yaml", FAMILY)
    ok(hotmesh("deploy", family, "--activate", home=home, dsn=pg_dsn))
    out = as_json(
        hotmesh(
            "pubsub",
            "family.start",
            "-d",
            '{"id": "fam-1", "name": "Ada"}',
            "--timeout",
            "20",
            home=home,
            dsn=pg_dsn,
        )
    )
    assert out["metadata"]["jid"] == "fam-1" and out["metadata"]["js"] == 0
    assert out["data"]["greeting"] == "Hello, Ada"

    status = ok(hotmesh("status", "fam-1", home=home, dsn=pg_dsn)).stdout
    assert "done (semaphore 0)" in status
    assert "family version 1" in status and '"greeting": "Hello, Ada"' in status

    history = ok(hotmesh("history", "fam-1", home=home, dsn=pg_dsn)).stdout
    body = history.splitlines()
    assert body[0].startswith("fam-1  family.start  started ")
    assert body[0].endswith("done")
    rows = [line.split("│")[1].strip() for line in body if line.startswith("│")]
    assert rows == ["t1", "a1"]
    assert "child jobs of fam-1" in history
    tree = history[history.index("child jobs of fam-1") :]
    assert "family.child" in tree and "c1 trigger" in tree

    doc = as_json(hotmesh("history", "fam-1", "--json", home=home, dsn=pg_dsn))
    assert [a["name"] for a in doc["activities"]] == ["t1", "a1"]
    assert all(a["done"] and a["error"] is None for a in doc["activities"])
    (child,) = doc["children"]
    assert child["job"]["parent_job_id"] == "fam-1"
    assert [a["name"] for a in child["activities"]] == ["c1"]

    listed = as_json(
        hotmesh("jobs", "--status", "done", "--json", home=home, dsn=pg_dsn)
    )
    assert {r["job_id"] for r in listed} == {"fam-1", child["job"]["job_id"]}
    table = ok(
        hotmesh("jobs", "--app", "family", "--limit", "1", home=home, dsn=pg_dsn)
    )
    assert sum("family" in line for line in table.stdout.splitlines()) == 1

    scrubbed = ok(hotmesh("scrub", "fam-1", home=home, dsn=pg_dsn))
    assert scrubbed.stdout == "scrubbed job fam-1 of app family\n"
    gone = hotmesh("status", "fam-1", home=home, dsn=pg_dsn)
    assert gone.returncode == 1
    assert gone.stderr.splitlines()[-1] == "error: job 'fam-1' not found"


TINY = """\
app:
  id: tiny
  version: '1'
  graphs:
    - subscribes: tiny.go
      activities:
        t1:
          type: trigger
          job: { maps: { seen: '{t1.output.data.n}' } }
"""


def test_pubsub_count_waits_for_every_job(
    pg_dsn: str, home: Path, tmp_path: Path
) -> None:
    ok(
        hotmesh(
            "deploy",
            write(tmp_path, "t.yaml", TINY),
            "--activate",
            home=home,
            dsn=pg_dsn,
        )
    )
    run = ok(
        hotmesh(
            "pubsub",
            "tiny.go",
            "-d",
            '{"n": 7}',
            "--count",
            "20",
            home=home,
            dsn=pg_dsn,
        )
    )
    outputs = json.loads(run.stdout)
    assert len(outputs) == 20
    assert {o["data"]["seen"] for o in outputs} == {7}
    assert len({o["metadata"]["jid"] for o in outputs}) == 20
    assert "waiting for jobs" in run.stderr and "20/20" in run.stderr


def test_a_failing_expression_at_pub_is_one_error_line(
    pg_dsn: str, home: Path, tmp_path: Path
) -> None:
    broken = write(
        tmp_path,
        "broken.yaml",
        FAMILY.replace("input: { maps: { name: '{t1.output.data.name}' } }", BAD_INPUT),
    )
    ok(hotmesh("deploy", broken, "--activate", home=home, dsn=pg_dsn))
    run = hotmesh(
        "pubsub", "family.start", "-d", '{"id": "x-1"}', home=home, dsn=pg_dsn
    )
    assert run.returncode == 1
    assert run.stdout == ""
    # no job was started (TriggerError), and the line says where it failed
    last = run.stderr.splitlines()[-1]
    assert last.startswith("error: no job started for 'family.start': activity ")
    assert "failed: @json.parse: invalid JSON" in last
    assert "Traceback" not in run.stderr

    many = hotmesh("pubsub", "family.start", "--count", "3", home=home, dsn=pg_dsn)
    assert many.returncode == 1
    assert [sorted(o) for o in json.loads(many.stdout)] == [["error"]] * 3
    assert many.stderr.splitlines()[-1].startswith(
        "error: 3 of 3 jobs failed; the first: no job started for 'family.start'"
    )


def test_job_and_app_ids_are_validated(pg_dsn: str, home: Path) -> None:
    for args in (
        ("status", "bad id!"),
        ("history", "../x"),
        ("scrub", "-"),
        ("jobs", "--app", "no spaces"),
    ):
        run = hotmesh(*args, home=home, dsn=pg_dsn)
        assert run.returncode == 1, args
        assert run.stderr.splitlines()[-1].startswith("error: invalid "), run.stderr


# --------------------------------------------------------------------------
# signal, interrupt


async def _finished(dsn: str, app: str, topic: str) -> tuple[HotMesh, asyncio.Event]:
    """An engine for *app* in this process, and an event set when a job publishes."""
    hm = await HotMesh.init(app_id=app, engine={"connection": {"dsn": dsn}})
    done = asyncio.Event()
    await hm.sub(topic, lambda _topic, _out: done.set())
    return hm, done


@pytest.mark.skipif(
    not hasattr(HotMesh, "signal"), reason="HotMesh.signal is not implemented yet"
)
async def test_signal_resumes_a_waiting_job(
    pg_dsn: str, home: Path, tmp_path: Path
) -> None:
    waiter = write(tmp_path, "w.yaml", WAITER)
    ok(hotmesh("deploy", waiter, "--activate", home=home, dsn=pg_dsn))
    ok(hotmesh("pub", "waiter.start", "-d", '{"id": "w-1"}', home=home, dsn=pg_dsn))
    hm, done = await _finished(pg_dsn, "waiter", "waiter.done")
    async with hm:
        run = ok(
            hotmesh(
                "signal",
                "sig.resume",
                "-d",
                '{"id": "w-1", "answer": 42}',
                home=home,
                dsn=pg_dsn,
            )
        )
        assert run.stdout == "signalled sig.resume: resumed job w-1\n"
        await asyncio.wait_for(done.wait(), 10)
    state = as_json(hotmesh("status", "w-1", "--json", home=home, dsn=pg_dsn))
    assert state["state"] == "done"
    assert state["output"]["data"]["answer"] == 42


@pytest.mark.skipif(
    not hasattr(HotMesh, "interrupt"), reason="HotMesh.interrupt is not implemented yet"
)
async def test_interrupt_stops_a_running_job(pg_dsn: str, home: Path) -> None:
    ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    job_id = ok(hotmesh("pub", "hello.requested", home=home, dsn=pg_dsn)).stdout.strip()
    hm, done = await _finished(pg_dsn, "hello", "hello.done")
    async with hm:
        run = ok(
            hotmesh(
                "interrupt",
                job_id,
                "--reason",
                "testing",
                "--descend",
                home=home,
                dsn=pg_dsn,
            )
        )
        assert run.stdout == f"interrupted job {job_id}\n"
        await asyncio.wait_for(done.wait(), 10)
    state = as_json(hotmesh("status", job_id, "--json", home=home, dsn=pg_dsn))
    assert state["state"] == "error"
    assert "testing" in state["err"]
    again = hotmesh("interrupt", job_id, home=home, dsn=pg_dsn)
    assert again.returncode == 1 and again.stderr.splitlines()[-1].startswith("error: ")
    quiet = ok(hotmesh("interrupt", job_id, "--suppress", home=home, dsn=pg_dsn))
    assert quiet.stdout == f"job {job_id} had already finished\n"


# --------------------------------------------------------------------------
# worker


WORKER_MODULE = """\
async def greet(message):
    if message["data"]["name"] == "boom":
        raise RuntimeError("no greeting for you")
    return {"data": {"name": message["data"]["name"].upper()}}
"""


def _worker(
    home: Path, dsn: str, app: str, specs: list[str], topics: list[str]
) -> subprocess.Popen[str]:
    args = ["worker", "--app", app]
    for topic in topics:
        args += ["--topic", topic]
    return serve(*args, *specs, home=home, dsn=dsn, ready="worker ready")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return err


def test_worker_runs_callables_until_sigterm(
    pg_dsn: str, home: Path, tmp_path: Path
) -> None:
    ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    module = write(tmp_path, "greeter.py", WORKER_MODULE)
    worker = _worker(home, pg_dsn, "hello", [f"{module}:greet"], ["hello.greet"])
    try:
        out = as_json(
            hotmesh(
                "pubsub",
                "hello.requested",
                "-d",
                '{"name": "ada"}',
                home=home,
                dsn=pg_dsn,
            )
        )
        failed = hotmesh(
            "pubsub", "hello.requested", "-d", '{"name": "boom"}', home=home, dsn=pg_dsn
        )
    finally:
        err = _stop(worker)
    assert out["data"]["greeting"] == "Hello, ADA!"
    assert failed.returncode == 1 and failed.stdout == ""
    last = failed.stderr.splitlines()[-1]
    assert (
        last.startswith("error: job '") and "failed (500): no greeting for you" in last
    )
    assert "hotmesh: stopping (finishing in-flight work)" in err
    assert err.rstrip().endswith("hotmesh: worker stopped")
    # the failure, one line: topic, job, activity, type and message
    job_id = last.split("'")[1]
    (line,) = [x for x in err.splitlines() if "failed on job" in x]
    assert re.fullmatch(
        rf"hotmesh: WARNING worker hello\.greet failed on job {job_id} "
        r"\(activity \w+\): RuntimeError: no greeting for you",
        line,
    ), line
    assert "Traceback" not in err


def test_worker_debug_logs_the_failure_with_its_traceback(
    pg_dsn: str, home: Path, tmp_path: Path
) -> None:
    ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    module = write(tmp_path, "greeter.py", WORKER_MODULE)
    worker = serve(
        "--debug",
        "worker",
        "--app",
        "hello",
        "--topic",
        "hello.greet",
        f"{module}:greet",
        home=home,
        dsn=pg_dsn,
        ready="worker ready",
    )
    try:
        failed = hotmesh(
            "pubsub", "hello.requested", "-d", '{"name": "boom"}', home=home, dsn=pg_dsn
        )
    finally:
        err = _stop(worker)
    assert failed.returncode == 1
    job_id = failed.stderr.splitlines()[-1].split("'")[1]
    start = err.index(
        f"hotmesh: WARNING hotmesh.worker: worker hello.greet failed on job {job_id}"
    )
    trace = err[start:]
    assert "Traceback (most recent call last):" in trace
    assert "greeter.py" in trace and ", in greet" in trace
    assert "RuntimeError: no greeting for you" in trace


def test_worker_refuses_bad_specs_in_one_line(pg_dsn: str, home: Path) -> None:
    cases = (
        (["nomodule"], ["t"], "error: invalid worker 'nomodule'"),
        (["json:nothing_here"], ["t"], "error: json has no attribute 'nothing_here'"),
        (["json:dumps", "json:loads"], ["t"], "error: 2 callable(s) but 1 --topic"),
        (["no_such_module_xyz:f"], ["t"], "error: cannot import no_such_module_xyz"),
    )
    for specs, topics, message in cases:
        args = ["worker", "--app", "hello", *specs]
        for topic in topics:
            args += ["--topic", topic]
        run = hotmesh(*args, home=home, dsn=pg_dsn)
        assert run.returncode == 1, (specs, run.stderr)
        assert run.stderr.splitlines()[-1].startswith(message), run.stderr


# --------------------------------------------------------------------------
# demo, and the error paths shared by every command


def test_demo_runs_both_branches_and_shows_history(pg_dsn: str, home: Path) -> None:
    run = ok(hotmesh("demo", home=home, dsn=pg_dsn))
    text = run.stdout
    assert "deployed app orders version 1" in text
    assert '"status": "reserved"' in text and '"status": "backordered"' in text
    assert text.count("checkInventory") == 2
    assert "reserveItem" in text and "notifyBackorder" in text
    jobs = as_json(hotmesh("jobs", "--app", "orders", "--json", home=home, dsn=pg_dsn))
    assert [j["state"] for j in jobs] == ["done", "done"]


def test_bad_manifest_is_reported_with_file_line_col(pg_dsn: str, home: Path) -> None:
    broken = "graphs/invalid/23-transition-to-unknown.yaml"
    run = hotmesh("deploy", broken, home=home, dsn=pg_dsn)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.startswith(f"error: {broken}:16:13: transition from 'a1'")
    assert "Traceback" not in run.stderr


def test_unreachable_database_is_one_line(home: Path) -> None:
    dsn = "postgresql://postgres:s3cret@127.0.0.1:1/postgres"
    for args in (("apps",), ("jobs",), ("status", "j-1"), ("db", "migrate")):
        run = hotmesh(*args, home=home, dsn=dsn)
        assert run.returncode == 1, args
        assert run.stdout == ""
        lines = run.stderr.splitlines()
        assert (
            lines[0]
            == "hotmesh: using PostgreSQL at postgresql://postgres:***@127.0.0.1:1/postgres"
        )
        assert len(lines) == 2, run.stderr
        assert lines[1].startswith(
            "error: cannot connect to PostgreSQL at postgresql://postgres:***@127.0.0.1:1/postgres"
        )
        assert "s3cret" not in run.stderr
    assert not home.exists()


def test_usage_errors_are_one_line_and_exit_2(home: Path) -> None:
    for args, message in (
        (("pub",), "error: Missing argument 'TOPIC'. (see 'hotmesh pub --help')"),
        (("nope",), "error: No such command 'nope'. (see 'hotmesh --help')"),
        (("jobs", "--limit", "0"), "error: Invalid value for '--limit'"),
    ):
        run = hotmesh(*args, home=home, dsn=None)
        assert run.returncode == 2, args
        assert run.stdout == ""
        assert len(run.stderr.splitlines()) == 1, run.stderr
        assert run.stderr.startswith(message), run.stderr
    assert not home.exists()  # a usage error never reaches for a database


def test_debug_shows_the_traceback(home: Path) -> None:
    dsn = "postgresql://postgres@127.0.0.1:1/postgres"
    run = hotmesh("--debug", "apps", home=home, dsn=dsn)
    assert run.returncode == 1
    assert "Traceback" in run.stderr and "StoreUnavailableError" in run.stderr


def test_global_dsn_option_overrides_the_environment(pg_dsn: str, home: Path) -> None:
    run = hotmesh("--dsn", pg_dsn, "apps", home=home, dsn=UNREACHABLE)
    assert ok(run).stdout == "no apps deployed\n"
    assert json.dumps(run.stderr).count("using PostgreSQL") == 1
    url = ok(hotmesh("--dsn", pg_dsn, "db", "url", home=home, dsn=UNREACHABLE))
    assert url.stdout == pg_dsn + "\n"
    status = ok(hotmesh("--dsn", pg_dsn, "db", "status", home=home, dsn=UNREACHABLE))
    assert "configured PostgreSQL (from --dsn): reachable" in status.stdout


@pytest.fixture
def embedded_home(tmp_path: Path) -> Iterator[Path]:
    """A private HOTMESH_HOME whose embedded server is stopped after the test."""
    root = tmp_path / "hm-embedded"
    yield root
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTMESH_HOME", str(root))
        embedded.stop()


def test_demo_on_the_embedded_default(embedded_home: Path) -> None:
    run = ok(hotmesh("demo", home=embedded_home, dsn=None))
    assert run.stderr.splitlines()[0] == (
        f"hotmesh: using embedded PostgreSQL at {embedded_home / 'pgdata'} "
        "(set DATABASE_URL to use your own)"
    )
    assert '"status": "reserved"' in run.stdout
    assert '"status": "backordered"' in run.stdout
    # the server and the jobs outlive the command
    jobs = as_json(hotmesh("jobs", "--json", home=embedded_home, dsn=None))
    assert len(jobs) == 2 and {j["state"] for j in jobs} == {"done"}


SHORT_LIVED = """\
app:
  id: brief
  version: '1'
  graphs:
    - subscribes: brief.go
      expire: 0
      activities:
        b1:
          type: trigger
          job: { maps: { n: '{b1.output.data.n}' } }
"""


def test_prune_deletes_expired_jobs(pg_dsn: str, home: Path, tmp_path: Path) -> None:
    ok(hotmesh("deploy", write(tmp_path, "b.yaml", SHORT_LIVED), "--activate",
               home=home, dsn=pg_dsn))  # fmt: skip
    for n in range(3):
        ok(hotmesh("pubsub", "brief.go", "-d", f'{{"n": {n}}}', home=home, dsn=pg_dsn))
    kept = ok(hotmesh("prune", home=home, dsn=pg_dsn))  # 7 days of retention
    assert kept.stdout == "pruned 0 expired jobs and 0 expired signals of app brief\n"
    assert len(as_json(hotmesh("jobs", "--json", home=home, dsn=pg_dsn))) == 3
    pruned = ok(hotmesh("prune", "--retention", "0", home=home, dsn=pg_dsn))
    assert pruned.stdout == "pruned 3 expired jobs and 0 expired signals of app brief\n"
    assert as_json(hotmesh("jobs", "--json", home=home, dsn=pg_dsn)) == []
    typo = hotmesh("prune", "--app", "brieff", home=home, dsn=pg_dsn)
    assert typo.returncode == 1
    assert typo.stderr.splitlines()[-1] == (
        "error: app 'brieff' is not deployed (deployed: brief)"
    )
