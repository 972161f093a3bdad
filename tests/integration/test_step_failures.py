"""A step that cannot run closes its job with an error instead of leaving it open."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh import errors
from hotmesh.engine import step
from tests.integration.conftest import MeshFactory

BROKEN = """
app:
  id: broken
  version: '1'
  graphs:
    - subscribes: parse.it
      activities:
        t1:
          type: trigger
        w1:
          type: worker
          topic: echo
          input:
            maps:
              text: '{t1.output.data.text}'
        h1:
          type: hook
          job:
            maps:
              parsed:
                '@pipe':
                  - ['{w1.output.data.text}']
                  - ['{@json.parse}']
      transitions:
        t1:
          - to: w1
        w1:
          - to: h1
"""


async def echo(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": message["data"]}


async def test_failing_expression_fails_the_job_with_a_clear_error(
    mesh: MeshFactory,
) -> None:
    hm = await mesh("broken", workers=[{"topic": "echo", "callback": echo}])
    await hm.deploy(BROKEN)
    await hm.activate("1")

    good = await hm.pubsub("parse.it", {"text": '{"a": 1}'}, timeout=10)
    assert good["data"] == {"parsed": {"a": 1}}

    with pytest.raises(errors.JobError) as info:
        await hm.pubsub("parse.it", {"text": "not json"}, timeout=10)
    assert info.value.code == 500
    assert "json.parse" in info.value.error["message"]
    assert await hm.get_status(info.value.job_id) == 0


async def test_a_failing_step_evaluates_its_expressions_once(
    mesh: MeshFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The step ran on the cached state, failed, and ran again on the locked
    row before failing the job (issue 20 §6): a costly expression twice."""
    hm = await mesh("broken", workers=[{"topic": "echo", "callback": echo}])
    await hm.deploy(BROKEN)
    await hm.activate("1")
    failures: list[str] = []
    real = step.apply

    def counted(*args: Any, **kwargs: Any) -> step.StepCommit:
        try:
            return real(*args, **kwargs)
        except errors.HotMeshError as exc:
            failures.append(str(exc))
            raise

    monkeypatch.setattr(step, "apply", counted)
    for _ in range(3):
        failures.clear()
        with pytest.raises(errors.JobError, match=r"json\.parse"):
            await hm.pubsub("parse.it", {"text": "not json"}, timeout=10)
        assert len(failures) == 1, failures
