"""``HotMesh.rerun``: a new job with the first one's input, linked to it in the
``reruns`` table in the transaction that creates it (migration 0029)."""

from __future__ import annotations

import asyncpg
import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: again
  version: '1'
  graphs:
    - subscribes: again.go
      activities:
        t: {type: trigger, job: {maps: {n: '{$self.input.data.n}', who: '{$self.input.data.who}'}}}
"""


async def _links(dsn: str) -> list[tuple[str, str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT app_id, job_id, rerun_of FROM hotmesh.reruns")
        return [tuple(r) for r in rows]
    finally:
        await conn.close()


async def test_rerun_starts_a_job_with_the_same_input_linked_to_the_first(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await mesh("again")
    await hm.deploy(APP)
    await hm.activate("1")
    first = await hm.pub("again.go", {"n": 7, "who": "ann"})
    second = await hm.rerun(first)
    assert second != first
    state = await hm.get_state("again.go", second)
    assert state["data"] == {"n": 7, "who": "ann"}
    assert await _links(pg_dsn) == [("again", second, first)]
    # a rerun of the rerun links to the job it re-ran, not to the first
    third = await hm.rerun(second)
    assert sorted(await _links(pg_dsn)) == sorted(
        [("again", second, first), ("again", third, second)]
    )
    # the link goes with the new job
    await hm.scrub(third)
    assert await _links(pg_dsn) == [("again", second, first)]


async def test_rerun_of_an_unknown_job_is_not_found(mesh: MeshFactory) -> None:
    hm = await mesh("again")
    await hm.deploy(APP)
    await hm.activate("1")
    with pytest.raises(errors.JobNotFoundError):
        await hm.rerun("no-such-job")
