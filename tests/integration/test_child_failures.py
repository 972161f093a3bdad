"""An awaited child that cannot start answers its parent with an error (no hung parent)."""

from __future__ import annotations

import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: kids
  version: '1'
  graphs:
    - subscribes: parent
      activities:
        p: {type: trigger}
        call: {type: await, topic: '{p.output.data.topic}', input: {maps: {n: '{p.output.data.n}'}}}
      transitions:
        p: [{to: call}]
    - subscribes: strict.child
      input:
        schema: {type: object, properties: {n: {type: number}}, required: [n]}
      activities:
        c: {type: trigger, job: {maps: {n: '{$self.input.data.n}'}}}
    - subscribes: broken.child
      activities:
        b:
          type: trigger
          job:
            maps:
              parsed: {'@pipe': [['{$self.input.data.n}'], ['{@json.parse}']]}
"""


@pytest.mark.parametrize(
    ("data", "code", "text"),
    [
        (
            {"topic": "no.such.graph", "n": 1},
            404,
            "no graph subscribed to 'no.such.graph'",
        ),
        (
            {"topic": "strict.child", "n": "one"},
            422,
            "input for 'strict.child' is invalid at /n",
        ),
        (
            {"topic": "broken.child", "n": "{not json"},
            500,
            "child 'broken.child' could not start",
        ),
    ],
)
async def test_a_child_that_cannot_start_fails_its_parent(
    mesh: MeshFactory, data: dict[str, object], code: int, text: str
) -> None:
    hm = await mesh("kids")
    await hm.deploy(APP)
    await hm.activate("1")
    with pytest.raises(errors.JobError) as caught:
        await hm.pubsub("parent", data, timeout=5)
    assert caught.value.code == code
    assert text in caught.value.error["message"]


async def test_a_valid_child_still_runs(mesh: MeshFactory) -> None:
    hm = await mesh("kids")
    await hm.deploy(APP)
    await hm.activate("1")
    out = await hm.pubsub("parent", {"topic": "strict.child", "n": 3}, timeout=5)
    assert out["metadata"]["js"] == 0
