"""``hotmesh history JOB --explain`` through the real CLI: why the job went
one way, with the values its conditions compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.cli import as_json, hotmesh, ok

# Two conditional branches out of the trigger; hooks without a hook rule
# pass through, so `pubsub` alone finishes a job.
BRANCHES = """\
app:
  id: branches
  version: '1'
  graphs:
    - subscribes: branches.start
      activities:
        t: {type: trigger, stats: {id: '{$self.input.data.id}'}}
        gold: {type: hook, job: {maps: {lane: gold}}}
        basic: {type: hook, job: {maps: {lane: basic}}}
      transitions:
        t:
          - to: gold
            conditions:
              match: [{expected: 'gold', actual: '{t.output.data.tier}'}]
          - to: basic
            conditions:
              gate: or
              match:
                - {expected: 'basic', actual: '{t.output.data.tier}'}
                - {expected: true, actual: '{t.output.data.trial}'}
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private HOTMESH_HOME (no test here starts the embedded server)."""
    return tmp_path / "hm"


def test_history_explain_shows_the_fired_branch_and_the_other(
    pg_dsn: str, home: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "branches.yaml"
    manifest.write_text(BRANCHES, encoding="utf-8")
    ok(hotmesh("deploy", str(manifest), "--activate", home=home, dsn=pg_dsn))
    out = as_json(
        hotmesh(
            "pubsub",
            "branches.start",
            "-d",
            '{"id": "b-1", "tier": "gold"}',
            "--timeout",
            "30",
            home=home,
            dsn=pg_dsn,
        )
    )
    assert out["data"]["lane"] == "gold"

    text = ok(hotmesh("history", "b-1", "--explain", home=home, dsn=pg_dsn)).stdout
    assert "why this branch: b-1" in text
    why = text[text.index("why this branch: b-1") :]
    assert "t ,0  code 200" in why
    assert '-> gold: fired (actual "gold" == expected "gold")' in why
    assert (
        '-> basic: not fired (actual "gold" != expected "basic" or '
        "actual undefined != expected true)"
    ) in why
    # without --explain the timeline alone, as before
    plain = ok(hotmesh("history", "b-1", home=home, dsn=pg_dsn)).stdout
    assert "why this branch" not in plain

    doc = as_json(
        hotmesh("history", "b-1", "--explain", "--json", home=home, dsn=pg_dsn)
    )
    (trigger,) = [a for a in doc["activities"] if a["name"] == "t"]
    assert trigger["why"]["transitions"][0] == {
        "to": "gold",
        "fired": True,
        "match": [{"expected": "gold", "actual": "gold", "ok": True}],
    }
    assert trigger["why"]["transitions"][1]["fired"] is False
    (gold,) = [a for a in doc["activities"] if a["name"] == "gold"]
    assert "why" not in gold  # no transitions out of it
