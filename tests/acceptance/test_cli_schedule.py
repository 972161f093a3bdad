"""``hotmesh schedule ...`` in a subprocess against real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.cli import ROOT, as_json, hotmesh, ok

HELLO = str(ROOT / "graphs" / "hello.yaml")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "hm"


def test_schedule_create_list_describe_update_pause_trigger_delete(
    pg_dsn: str, home: Path
) -> None:
    def cli(*args: str):  # type: ignore[no-untyped-def]
        return hotmesh(*args, home=home, dsn=pg_dsn)

    ok(cli("deploy", HELLO, "--activate"))
    made = ok(
        cli(
            "schedule",
            "create",
            "morning",
            "hello.requested",
            "--data",
            '{"name": "sun"}',
            "--cron",
            "0 9 * * MON-FRI",
            "--timezone",
            "Europe/Berlin",
        )
    )
    assert "created schedule morning; next fire" in made.stdout
    listed = ok(cli("schedule", "list"))
    assert "morning" in listed.stdout and "0 9 * * MON-FRI" in listed.stdout
    rows = as_json(cli("schedule", "list", "--json"))
    assert rows[0]["id"] == "morning" and rows[0]["next_fire_at"]
    described = as_json(cli("schedule", "describe", "morning", "--json"))
    assert described["timezone"] == "Europe/Berlin"
    assert len(described["upcoming"]) == 5
    assert "next:" in ok(cli("schedule", "describe", "morning")).stdout
    updated = ok(cli("schedule", "update", "morning", "--every", "1h"))
    assert "updated schedule morning" in updated.stdout
    assert as_json(cli("schedule", "describe", "morning", "--json"))["every"] == 3600
    assert "paused schedule morning" in ok(cli("schedule", "pause", "morning")).stdout
    assert as_json(cli("schedule", "list", "--json"))[0]["paused"] is True
    ok(cli("schedule", "resume", "morning"))
    triggered = ok(cli("schedule", "trigger", "morning")).stdout
    assert "triggered schedule morning: job morning:" in triggered
    runs = as_json(cli("schedule", "describe", "morning", "--json"))["recent_runs"]
    assert runs[0]["outcome"] == "triggered"
    ok(cli("schedule", "delete", "morning"))
    assert "no schedules" in ok(cli("schedule", "list")).stdout


def test_schedule_bad_input_is_one_line_naming_the_field(
    pg_dsn: str, home: Path
) -> None:
    ok(hotmesh("deploy", HELLO, "--activate", home=home, dsn=pg_dsn))
    bad = hotmesh(
        "schedule",
        "create",
        "x",
        "hello.requested",
        "--cron",
        "0 25 * * *",
        home=home,
        dsn=pg_dsn,
    )
    assert bad.returncode == 1
    assert (
        "error: schedule option 'cron': invalid expression '0 25 * * *'" in bad.stderr
    )
    tz = hotmesh(
        "schedule",
        "create",
        "x",
        "hello.requested",
        "--every",
        "1m",
        "--timezone",
        "Moon/Base",
        home=home,
        dsn=pg_dsn,
    )
    assert "unknown time zone 'Moon/Base'" in tz.stderr
    missing = hotmesh("schedule", "pause", "nope", home=home, dsn=pg_dsn)
    assert missing.returncode == 1 and "schedule 'nope' not found" in missing.stderr


def test_pub_delay_makes_a_scheduled_job_that_jobs_and_status_show(
    pg_dsn: str, home: Path
) -> None:
    def cli(*args: str):  # type: ignore[no-untyped-def]
        return hotmesh(*args, home=home, dsn=pg_dsn)

    ok(cli("deploy", HELLO, "--activate"))
    job_id = ok(
        cli("pub", "hello.requested", "--data", '{"name": "later"}', "--delay", "1h")
    ).stdout.strip()
    listed = as_json(cli("jobs", "--status", "scheduled", "--json"))
    assert [(j["job_id"], j["state"]) for j in listed] == [(job_id, "scheduled")]
    assert as_json(cli("jobs", "--status", "running", "--json")) == []
    assert as_json(cli("status", job_id, "--json"))["state"] == "scheduled"
    bad = cli("pub", "hello.requested", "--delay", "soon")
    assert bad.returncode != 0 and "'delay'" in bad.stderr
