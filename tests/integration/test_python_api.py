"""The Python-first surface: ``async with HotMesh.init``, ``dsn=``, ``HOTMESH_SCHEMA``,
checked options, and ``except TimeoutError``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh, errors
from tests.acceptance.cli import hotmesh

APP = """
app:
  id: pyapi
  version: '1'
  graphs:
    - subscribes: pyapi.go
      activities:
        t1: {type: trigger}
        w1:
          type: worker
          topic: pyapi.work
          input: {maps: {n: '{t1.output.data.n}'}}
          job: {maps: {doubled: '{$self.output.data.doubled}'}}
      transitions:
        t1: [{to: w1}]
"""


async def double(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"doubled": message["data"]["n"] * 2}}


async def _schemas(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'jobs'"
        )
    finally:
        await conn.close()
    return {r["table_schema"] for r in rows}


async def test_async_with_init_runs_and_stops(pg_dsn: str) -> None:
    async with HotMesh.init(
        "pyapi", dsn=pg_dsn, workers=[{"topic": "pyapi.work", "callback": double}]
    ) as hm:
        await hm.deploy(APP)
        await hm.activate("1")
        out = await hm.pubsub("pyapi.go", {"n": 21})
        assert out["data"] == {"doubled": 42}
        assert hm in HotMesh._instances
    assert hm not in HotMesh._instances  # stopped when the block ended


async def test_await_init_still_works(pg_dsn: str) -> None:
    hm = await HotMesh.init("pyapi", engine={"connection": {"dsn": pg_dsn}})
    try:
        assert hm.options.dsn == pg_dsn
    finally:
        await hm.stop()


async def test_hotmesh_schema_is_honoured_as_by_the_cli(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTMESH_SCHEMA", "tenant_a")
    async with HotMesh.init("pyapi", dsn=pg_dsn) as hm:
        assert hm.options.schema == "tenant_a"
    assert await _schemas(pg_dsn) == {"tenant_a"}
    async with HotMesh.init("pyapi", dsn=pg_dsn, schema="tenant_b"):
        pass
    assert await _schemas(pg_dsn) == {"tenant_a", "tenant_b"}


async def test_misspelt_connection_never_falls_back_to_another_database(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the typo was ignored and DATABASE_URL used without a word.
    monkeypatch.setenv("DATABASE_URL", pg_dsn)
    with pytest.raises(errors.ConfigError) as caught:
        await HotMesh.init(
            "pyapi", engine={"conection": {"dsn": "postgresql://elsewhere/db"}}
        )
    assert str(caught.value) == (
        "engine: unknown option 'conection' (did you mean 'connection'?)"
    )
    assert await _schemas(pg_dsn) == set()  # nothing was created anywhere


async def test_misspelt_worker_key_is_refused_before_connecting(pg_dsn: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        await HotMesh.init(
            "pyapi", dsn=pg_dsn, workers=[{"topic": "pyapi.work", "calback": double}]
        )
    assert str(caught.value) == (
        "worker 'pyapi.work': unknown option 'calback' (did you mean 'callback'?)"
    )
    assert await _schemas(pg_dsn) == set()


async def test_builtin_timeout_error_catches_a_pubsub_timeout(pg_dsn: str) -> None:
    async with HotMesh.init("pyapi", dsn=pg_dsn) as hm:  # no worker: the job waits
        await hm.deploy(APP)
        await hm.activate("1")
        with pytest.raises(TimeoutError) as caught:
            await hm.pubsub("pyapi.go", {"n": 1}, timeout=0.2)
        assert isinstance(caught.value, errors.JobTimeoutError)
        assert isinstance(caught.value, errors.HotMeshError)


EXPIRES_AT_ONCE = """
app:
  id: pyapi
  version: '1'
  graphs:
    - subscribes: pyapi.now
      expire: 0
      activities:
        t1: {type: trigger, job: {maps: {got: '{$self.output.data.n}'}}}
"""


async def test_python_and_cli_agree_on_a_finished_expired_job(
    pg_dsn: str, tmp_path: Path
) -> None:
    async with HotMesh.init("pyapi", dsn=pg_dsn) as hm:
        await hm.deploy(EXPIRES_AT_ONCE)
        await hm.activate("1")
        out = await hm.pubsub("pyapi.now", {"id": "gone-1", "n": 5})
        job_id = out["metadata"]["jid"]
        # expire: 0 -- expired the moment it finished, readable until pruned
        assert (await hm.get_state("pyapi.now", job_id))["data"] == {"got": 5}
        assert await hm.get_status(job_id) == 0
        assert (await hm.export(job_id))["data"] == {"got": 5}
        shown = await asyncio.to_thread(
            hotmesh, "status", job_id, "--json", home=tmp_path, dsn=pg_dsn
        )
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["output"]["data"] == {"got": 5}
        assert await hm.prune(retention=0) == {"jobs": 1, "signals": 0}
        with pytest.raises(errors.JobNotFoundError):
            await hm.get_state("pyapi.now", job_id)
        gone = await asyncio.to_thread(
            hotmesh, "status", job_id, home=tmp_path, dsn=pg_dsn
        )
        assert gone.returncode == 1
        assert f"job '{job_id}' not found" in gone.stderr


async def test_misspelt_retry_key_is_refused_before_connecting(pg_dsn: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        await HotMesh.init(
            "pyapi",
            dsn=pg_dsn,
            workers=[
                {
                    "topic": "pyapi.work",
                    "callback": double,
                    "retry": {"maximum_attemps": 3},
                }
            ],
        )
    assert str(caught.value) == (
        "worker 'pyapi.work': retry: unknown option 'maximum_attemps' "
        "(did you mean 'maximum_attempts'?)"
    )
    assert await _schemas(pg_dsn) == set()
