"""`hotmesh stats` (issue 18): backlog per topic, jobs per status and the last
minute's throughput, read from a real database, once and with --watch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.cli import ROOT, as_json, hotmesh, ok

HELLO = str(ROOT / "graphs" / "hello.yaml")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_stats_shows_the_backlog_of_a_topic_nobody_serves(
    pg_dsn: str, home: Path
) -> None:
    ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    for name in ("a", "b"):
        ok(
            hotmesh(
                "pub",
                "hello.requested",
                "-d",
                json.dumps({"name": name}),
                home=home,
                dsn=pg_dsn,
            )
        )
    figures = as_json(hotmesh("stats", "--json", home=home, dsn=pg_dsn))
    assert figures["app"] == "hello"
    assert figures["backlog"]["hello.greet"]["ready"] == 2  # no worker runs
    assert figures["backlog"]["hello.greet"]["oldest"] >= 0
    assert figures["jobs"] == {"scheduled": 0, "running": 2, "done": 0, "error": 0}
    assert figures["throughput"]["started"] == 2 and figures["throughput"]["ended"] == 0
    table = ok(hotmesh("stats", "--app", "hello", home=home, dsn=pg_dsn)).stdout
    assert "hello: backlog" in table and "hello.greet" in table
    assert "running" in table and "last 60 s" in table


def test_stats_watch_reads_again_until_told_to_stop(pg_dsn: str, home: Path) -> None:
    ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    run = ok(
        hotmesh(
            "stats", "--watch", "--every", "0.1", "--times", "3", "--json",
            home=home, dsn=pg_dsn,
        )
    )  # fmt: skip
    reads = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(reads) == 3 and all(r["jobs"]["running"] == 0 for r in reads)


def test_stats_names_an_unknown_app(pg_dsn: str, home: Path) -> None:
    ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    run = hotmesh("stats", "--app", "nope", home=home, dsn=pg_dsn)
    assert run.returncode == 1
    assert "app 'nope' is not deployed (deployed: hello)" in run.stderr
