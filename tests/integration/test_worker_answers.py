"""Worker callbacks that answer wrongly are loud (issue 15, silent failures 2, 3, 5):
``None`` waits visibly for ``hm.add``, a bare dict fails naming the wrapper, an
exception is logged with its job, activity and traceback, and a timeout names
what the job waits on."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from hotmesh import errors
from tests.acceptance.cli import hotmesh
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: ans
  version: '1'
  graphs:
    - subscribes: ans.go
      publishes: ans.done
      expire: 300
      activities:
        t1: {type: trigger, stats: {id: '{$self.input.data.id}'}}
        w1:
          type: worker
          topic: ans.work
          input: {maps: {n: '{t1.output.data.n}'}}
          job: {maps: {total: '{$self.output.data.total}'}}
      transitions:
        t1: [{to: w1}]
"""


async def test_a_callback_returning_none_waits_visibly_for_hm_add(
    mesh: MeshFactory, caplog: pytest.LogCaptureFixture, pg_dsn: str, tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []

    async def later(message: dict[str, Any]) -> None:
        seen.append(message)  # forgot `return` (or will answer through hm.add)

    caplog.set_level(logging.WARNING, logger="hotmesh")
    hm = await mesh("ans", workers=[{"topic": "ans.work", "callback": later}])
    await hm.deploy(APP)
    await hm.activate("1")
    with pytest.raises(errors.JobTimeoutError) as caught:
        await hm.pubsub("ans.go", {"id": "late-1", "n": 1}, timeout=2)
    assert str(caught.value) == (
        "job 'late-1' did not finish within 2s (code 504); it waits on activity "
        "'w1' (worker topic 'ans.work'), waiting for an answer through hm.add(). "
        "The job keeps running: follow it with `hotmesh status late-1`"
    )
    assert caught.value.waiting == (
        "activity 'w1' (worker topic 'ans.work'), waiting for an answer through "
        "hm.add()",
    )
    with pytest.raises(errors.JobTimeoutError):
        await hm.pubsub("ans.go", {"id": "late-2", "n": 2}, timeout=1)
    warnings = [r.getMessage() for r in caplog.records if "returned None" in r.message]
    assert warnings == [  # once per topic, naming the first job
        "worker ans.work returned None for job late-1 (activity w1): the activity "
        "now waits for an answer through hm.add(); return {'data': ...} to answer "
        "at once (said once per topic)"
    ]
    export = await hm.export("late-1")
    (row,) = [a for a in export["activities"] if a["name"] == "w1"]
    assert (row["state"], row["done"]) == ("waiting for an answer", False)

    status = await asyncio.to_thread(
        hotmesh, "status", "late-1", "--json", home=tmp_path, dsn=pg_dsn
    )
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["waiting"] == [
        "activity 'w1' (worker topic 'ans.work'), waiting for an answer through "
        "hm.add()"
    ]
    history = await asyncio.to_thread(
        hotmesh, "history", "late-1", home=tmp_path, dsn=pg_dsn
    )
    assert history.returncode == 0, history.stderr
    assert "waiting for an answer (hm.add)" in history.stdout

    # The answer through hm.add completes the job.
    done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    await hm.sub("ans.done.late-1", lambda _t, out: done.set_result(out))
    await hm.add({"metadata": seen[0]["metadata"], "data": {"total": 10}})
    out = await asyncio.wait_for(done, 10)
    assert out["data"] == {"total": 10}
    export = await hm.export("late-1")
    (row,) = [a for a in export["activities"] if a["name"] == "w1"]
    assert row["state"] == "done"


async def test_a_bare_dict_without_the_data_wrapper_fails_the_job(
    mesh: MeshFactory,
) -> None:
    async def bare(message: dict[str, Any]) -> dict[str, Any]:
        return {"total": message["data"]["n"] * 2}  # forgot {"data": ...}

    hm = await mesh("ans", workers=[{"topic": "ans.work", "callback": bare}])
    await hm.deploy(APP)
    await hm.activate("1")
    with pytest.raises(errors.JobError) as caught:
        await hm.pubsub("ans.go", {"id": "bare-1", "n": 2}, timeout=10)
    assert caught.value.error["message"] == (
        "invalid worker response: a dict with none of the keys data, metadata, "
        "status, code (it has 'total'); return {'data': {...}} to answer with data"
    )
    assert caught.value.code == 500


async def test_an_empty_dict_still_answers_with_no_data(mesh: MeshFactory) -> None:
    async def empty(message: dict[str, Any]) -> dict[str, Any]:
        return {}

    hm = await mesh("ans", workers=[{"topic": "ans.work", "callback": empty}])
    await hm.deploy(APP)
    await hm.activate("1")
    out = await hm.pubsub("ans.go", {"id": "empty-1", "n": 2}, timeout=10)
    assert out["metadata"]["js"] == 0 and "err" not in out["metadata"]


def _explode(n: int) -> None:
    raise ValueError(f"cannot count to {n}")


async def test_a_raising_callback_is_logged_with_its_job_activity_and_traceback(
    mesh: MeshFactory, caplog: pytest.LogCaptureFixture
) -> None:
    def fails(message: dict[str, Any]) -> dict[str, Any]:
        _explode(message["data"]["n"])
        return {"data": {}}

    caplog.set_level(logging.WARNING, logger="hotmesh")
    hm = await mesh("ans", workers=[{"topic": "ans.work", "callback": fails}])
    await hm.deploy(APP)
    await hm.activate("1")
    with pytest.raises(errors.JobError) as caught:
        await hm.pubsub("ans.go", {"id": "boom-1", "n": 3}, timeout=10)
    (record,) = [r for r in caplog.records if "failed on job" in r.getMessage()]
    assert record.getMessage() == "worker ans.work failed on job boom-1 (activity w1)"
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert "in _explode" in logging.Formatter().formatException(record.exc_info)
    # the job's stored error keeps the type, the message and the traceback
    error = caught.value.error
    assert (error["type"], error["message"], error["code"]) == (
        "ValueError",
        "cannot count to 3",
        500,
    )
    assert "in _explode" in error["stack"] and "Traceback" in error["stack"]
    state = await hm.get_state("ans.go", "boom-1")
    assert json.loads(state["metadata"]["err"])["type"] == "ValueError"
