"""`hotmesh workflow history ID [--json]`: the history the replayer reads (issue 23)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hotmesh import MemFlow, errors
from hotmesh.memflow import registry
from tests.acceptance.cli import hotmesh, ok

QUEUE = "hist-q"


async def pack(item: str) -> str:
    return f"packed {item}"


async def ship(item: str, to: str) -> str:
    return f"shipped {item} to {to}"


async def dispatch(item: str) -> str:
    acts = MemFlow.workflow.proxy_activities(activities=[pack, ship])
    await acts.pack(item)
    await MemFlow.workflow.sleep_for(0.1)
    return await acts.ship(item, "lyon")


async def test_history_json_replays_against_the_code_and_the_table_shows_steps(
    pg_dsn: str, tmp_path: Path
) -> None:
    conn = {"connection": {"dsn": pg_dsn}}
    try:
        async with MemFlow.Worker.create(
            {**conn, "task_queue": QUEUE, "workflow": dispatch}
        ):
            async with MemFlow.Client(conn) as client:
                handle = await client.workflow.start(
                    args=["lamp"],
                    task_queue=QUEUE,
                    workflow_name=dispatch,
                    workflow_id="ship-1",
                )
                assert await handle.result(timeout=30) == "shipped lamp to lyon"
                fetched = await handle.fetch_history()
    finally:
        registry.clear()

    home = tmp_path / "hm"
    done = ok(hotmesh("workflow", "history", "ship-1", "--json", home=home, dsn=pg_dsn))
    history: dict[str, Any] = json.loads(done.stdout)
    assert history == json.loads(json.dumps(fetched))
    saved = tmp_path / "h.json"
    saved.write_text(done.stdout)
    replayed = await MemFlow.Replayer(workflows=[dispatch]).replay(saved)
    assert replayed.steps == 3

    async def dispatch_elsewhere(item: str) -> str:
        acts = MemFlow.workflow.proxy_activities(activities=[pack, ship])
        await acts.pack(item)
        await MemFlow.workflow.sleep_for(0.1)
        return await acts.ship(item, "nice")

    dispatch_elsewhere.__name__ = "dispatch"
    try:
        await MemFlow.Replayer(workflows=[dispatch_elsewhere]).replay(saved)
    except errors.NondeterminismError as exc:
        assert "step 3" in str(exc) and '"nice"' in str(exc)
    else:
        raise AssertionError("a changed argument replayed clean")

    table = ok(hotmesh("workflow", "history", "ship-1", home=home, dsn=pg_dsn)).stdout
    assert "pack" in table and "ship" in table and "shipped lamp to lyon" in table
    missing = hotmesh("workflow", "history", "nope", home=home, dsn=pg_dsn)
    assert missing.returncode == 1
    assert "no workflow 'nope'" in missing.stderr
