"""SQL metacharacters in ids, topics and data: rejected with ConfigError, or stored literally.

Identifiers given to the API (app ids, topics, job ids, schema names) must
match a strict pattern, so quotes, ``;``, ``--``, ``%``, backslashes and
non-ASCII are refused before any SQL runs. Data is never refused for its
characters: job data, signal keys and job ids derived from data (``stats.id``)
travel as bind parameters and come back byte for byte, and every table is
still there afterwards.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh, errors
from tests.integration.conftest import MeshFactory

EVIL = [
    "'; DROP TABLE hotmesh.jobs; --",
    "x' OR '1'='1",
    'a"b"; DELETE FROM hotmesh.messages; --',
    "'); TRUNCATE hotmesh.apps CASCADE; --🙂",
    "100%_done",
    "%",
    "_",
    "back\\slash\\' quote",
    "$1 $2 ::jsonb",
    "/* c */ -- d",
    "$$; DROP SCHEMA hotmesh CASCADE; $$",
    "E'\\x27' ; SELECT pg_sleep(10)",
]

APP = """
app:
  id: inj
  version: '1'
  graphs:
    - subscribes: inj.go
      expire: 300
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
          job:
            maps:
              value: '{t1.output.data.value}'
        w1:
          type: worker
          topic: inj.work
          input:
            maps:
              value: '{t1.output.data.value}'
          job:
            maps:
              echoed: '{w1.output.data.value}'
        h1:
          type: hook
          job:
            maps:
              signalled: '{$self.hook.data.value}'
      transitions:
        t1:
          - to: w1
        w1:
          - to: h1
      hooks:
        inj.signal:
          - to: h1
            conditions:
              match:
                - expected: '{t1.output.data.value}'
                  actual: '{$self.hook.data.key}'
"""


async def echo(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"value": message["data"]["value"]}}


async def _tables(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        counts = {}
        for r in rows:
            schema, table = r["t"].split(".")
            counts[r["t"]] = await conn.fetchval(
                f'SELECT count(*) FROM "{schema}"."{table}"'  # test-only, names from the catalog
            )
        return counts
    finally:
        await conn.close()


@pytest.mark.parametrize("bad", [*EVIL, "job id", "ü", "a" * 256, ""])
async def test_identifiers_with_metacharacters_are_refused(
    mesh: MeshFactory, pg_dsn: str, bad: str
) -> None:
    hm = await mesh("inj", workers=[{"topic": "inj.work", "callback": echo}])
    await hm.deploy(APP)
    await hm.activate("1")
    before = await _tables(pg_dsn)
    calls = [
        lambda: HotMesh.init(bad, engine={"connection": {"dsn": pg_dsn}}),
        lambda: HotMesh.init(
            "inj",
            engine={"connection": {"dsn": pg_dsn}},
            workers=[{"topic": bad, "callback": echo}],
        ),
        lambda: hm.pub(bad, {}),
        lambda: hm.pubsub(bad, {}),
        lambda: hm.signal(bad, {}),
        lambda: hm.get_state("inj.go", bad),
        lambda: hm.get_status(bad),
        lambda: hm.export(bad),
        lambda: hm.scrub(bad),
        lambda: hm.interrupt("inj.go", bad),
        lambda: hm.interrupt(bad, "job1"),
    ]
    if bad != "_":  # "_" is a plain SQL identifier, a valid schema name
        calls.append(
            lambda: HotMesh.init(
                "inj", engine={"connection": {"dsn": pg_dsn}, "schema": bad}
            )
        )
    for call in calls:
        with pytest.raises(errors.ConfigError):
            await call()
    assert await _tables(pg_dsn) == before


async def test_data_and_data_derived_job_ids_are_stored_literally(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await mesh("inj", workers=[{"topic": "inj.work", "callback": echo}])
    await hm.deploy(APP)
    await hm.activate("1")
    tables = set(await _tables(pg_dsn))
    assert {"hotmesh.jobs", "hotmesh.messages", "hotmesh.apps"} <= tables
    runs = [
        asyncio.create_task(
            hm.pubsub("inj.go", {"id": evil, "value": f"{evil}#{i}"}, timeout=20)
        )
        for i, evil in enumerate(EVIL)
    ]
    # each job waits in h1 for the signal keyed by its (evil) value; a signal
    # that comes before its hook registers is kept (keep=True: the key is
    # not the job id, so hotmesh cannot tell which job it is for)
    for i, evil in enumerate(EVIL):
        resumed = await hm.signal(
            "inj.signal", {"key": f"{evil}#{i}", "value": evil}, keep=True
        )
        assert resumed in (None, evil)
    for i, (evil, out) in enumerate(
        zip(EVIL, await asyncio.gather(*runs), strict=True)
    ):
        assert out["metadata"]["jid"] == evil
        assert out["data"] == {
            "value": f"{evil}#{i}",
            "echoed": f"{evil}#{i}",
            "signalled": evil,
        }
    conn = await asyncpg.connect(pg_dsn)
    try:
        rows = await conn.fetch(
            "SELECT job_id, data, status FROM hotmesh.jobs WHERE app_id = 'inj'"
        )
    finally:
        await conn.close()
    by_id = {r["job_id"]: r for r in rows}
    assert set(by_id) == set(EVIL)  # every id literally, no wildcard collapsed two
    for i, evil in enumerate(EVIL):
        job = await hm.engine.read(evil)  # the store layer takes any id as a parameter
        assert job is not None and job.job_id == evil
        assert job.data["value"] == f"{evil}#{i}"
    # every table is still there (rows only grew)
    assert set(await _tables(pg_dsn)) == tables


async def test_like_wildcards_in_ids_match_only_themselves(mesh: MeshFactory) -> None:
    hm = await mesh("inj", workers=[{"topic": "inj.work", "callback": echo}])
    await hm.deploy(APP)
    await hm.activate("1")
    await hm.pub("inj.go", {"id": "jobX1", "value": "a"})
    await hm.pub("inj.go", {"id": "job_1", "value": "b"})
    assert (await hm.get_state("inj.go", "job_1"))["data"]["value"] == "b"
    assert (await hm.get_state("inj.go", "jobX1"))["data"]["value"] == "a"
    with pytest.raises(errors.JobNotFoundError):
        await hm.get_state("inj.go", "job_")
    await hm.scrub("job_1")
    assert (await hm.get_state("inj.go", "jobX1"))["data"]["value"] == "a"
    assert await hm.engine.read("%") is None
