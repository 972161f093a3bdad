"""Issue 16 items 1-3 on a real database: slot fields ``name[N]`` merged per
index across parallel branches, a trigger key that resolves to nothing, and
expressions that fail while a job starts (and ``@cron.nextDelay``'s -1)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory

SLOTS = """
app:
  id: slots
  version: '1'
  graphs:
    - subscribes: slots.go
      activities:
        t:
          type: trigger
        a:
          type: worker
          topic: slots.work
          input: {maps: {i: 1}}
          job: {maps: {'results[4]': {'1': '{$self.output.data.v}'}}}
        b:
          type: worker
          topic: slots.work
          input: {maps: {i: 3}}
          job:
            maps:
              'results[4]':
                '@pipe':
                  - ['{$self.output.data.i}', '{$self.output.data.v}']
                  - ['{@object.create}']
        c:
          type: worker
          topic: slots.work
          input: {maps: {i: 0}}
          job: {maps: {'results[4]': '{$self.output.data.nothing}', 'empty[2]': {}}}
      transitions:
        t: [{to: a}, {to: b}, {to: c}]
"""


async def test_parallel_branches_keep_each_slot_they_write(mesh: MeshFactory) -> None:
    arrived: list[int] = []
    together = asyncio.Event()

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        i = message["data"]["i"]
        arrived.append(i)
        if len(arrived) == 3:
            together.set()
        await together.wait()  # the branches answer at the same moment
        return {"data": {"i": i, "v": f"slot-{i}"}}

    # Two engines on one database: the answers may be applied by either.
    workers = [{"topic": "slots.work", "callback": work}]
    first = await mesh("slots", workers=workers)
    await mesh("slots")
    await first.deploy(SLOTS)
    await first.activate("1")
    for _ in range(3):
        arrived.clear()
        together.clear()
        out = await first.pubsub("slots.go", {}, timeout=20)
        # slot 1 from branch a, slot 3 from branch b; slots 0 and 2 never
        # written are absent (not null), and the empty sources wrote nothing
        assert out["data"] == {"results": {"1": "slot-1", "3": "slot-3"}}
        state = await first.get_state("slots.go", out["metadata"]["jid"])
        assert state["data"] == {"results": {"1": "slot-1", "3": "slot-3"}}


SEQUENTIAL = """
app:
  id: seq
  version: '1'
  graphs:
    - subscribes: seq.go
      activities:
        t:
          type: trigger
          job: {maps: {'r[3]': {'0': '{$self.input.data.first}'}}}
        x:
          type: hook
          sleep: 0
          job: {maps: {'r[3]': {'2': two, '5': out-of-range}}}
        y:
          type: hook
          sleep: 0
          job: {maps: {'r[3]': {'2': again}}}
      transitions:
        t: [{to: x}]
        x: [{to: y}]
"""


async def test_later_activities_merge_into_and_overwrite_single_slots(
    mesh: MeshFactory,
) -> None:
    hm = await mesh("seq")
    await hm.deploy(SEQUENTIAL)
    await hm.activate("1")
    out = await hm.pubsub("seq.go", {"first": "zero"}, timeout=10)
    assert out["data"] == {"r": {"0": "zero", "2": "again"}}
    # a trigger whose source has no entry writes no field at all
    out = await hm.pubsub("seq.go", {}, timeout=10)
    assert out["data"] == {"r": {"2": "again"}}


KEYED = """
app:
  id: keyed
  version: '1'
  graphs:
    - subscribes: keyed.go
      activities:
        t:
          type: trigger
          stats:
            key: '{$self.input.data.customer}'
          job:
            maps:
              k: '{$job.metadata.key}'
              seen: true
    - subscribes: unkeyed.go
      activities:
        u:
          type: trigger
          job: {maps: {k: '{$job.metadata.key}'}}
"""


async def test_a_key_that_resolves_to_nothing_leaves_no_key(mesh: MeshFactory) -> None:
    hm = await mesh("keyed")
    await hm.deploy(KEYED)
    await hm.activate("1")
    keyed = await hm.pubsub("keyed.go", {"customer": "acme"}, timeout=10)
    assert keyed["metadata"]["key"] == "acme"
    assert keyed["data"] == {"k": "acme", "seen": True}
    for data in ({}, {"customer": None}):
        out = await hm.pubsub("keyed.go", data, timeout=10)
        assert "key" not in out["metadata"]
        assert out["data"] == {"seen": True}  # k read an undefined key: not written
        state = await hm.get_state("keyed.go", out["metadata"]["jid"])
        assert "key" not in state["metadata"]
    # no stats.key at all: the empty key, as upstream
    plain = await hm.pubsub("unkeyed.go", {}, timeout=10)
    assert plain["metadata"]["key"] == ""
    assert plain["data"] == {"k": ""}


FAILING = """
app:
  id: failing
  version: '1'
  graphs:
    - subscribes: fail.maps
      activities:
        t:
          type: trigger
          stats: {id: '{$self.input.data.id}'}
          job:
            maps:
              parsed: {'@pipe': [['{$self.input.data.text}'], ['{@json.parse}']]}
    - subscribes: fail.id
      activities:
        t2:
          type: trigger
          stats:
            id: {'@pipe': [['{$self.input.data.text}'], ['{@json.parse}']]}
    - subscribes: fail.ahead
      activities:
        t3:
          type: trigger
          stats: {id: '{$self.input.data.id}'}
        w:
          type: worker
          topic: fail.work
          input:
            maps:
              parsed: {'@pipe': [['{t3.output.data.text}'], ['{@json.parse}']]}
      transitions:
        t3: [{to: w}]
    - subscribes: cron.go
      activities:
        t4:
          type: trigger
        nap:
          type: hook
          sleep: {'@pipe': [['{t4.output.data.cron}'], ['{@cron.nextDelay}']]}
          job: {maps: {woke: true}}
      transitions:
        t4: [{to: nap}]
"""


@pytest.mark.parametrize(
    ("topic", "where"),
    [
        ("fail.maps", "trigger 't' job.maps"),
        ("fail.id", "trigger 't2' stats.id"),
        ("fail.ahead", "activity 'w' (run in the trigger's step)"),
    ],
)
async def test_an_expression_failing_while_a_job_starts_is_a_trigger_error(
    mesh: MeshFactory, topic: str, where: str
) -> None:
    hm = await mesh("failing")
    await hm.deploy(FAILING)
    await hm.activate("1")
    data = {"id": f"bad-{topic}", "text": "{not json"}
    for call in (hm.pub(topic, data), hm.pubsub(topic, data, timeout=10)):
        with pytest.raises(errors.TriggerError) as caught:
            await call
        error = caught.value
        assert not isinstance(error, errors.EvaluationError)
        assert isinstance(error.__cause__, errors.EvaluationError)
        assert error.topic == topic and error.where == where
        assert f"no job started for '{topic}': {where} failed: @json.parse" in str(
            error
        )
    # as upstream: the trigger throws before its job exists
    with pytest.raises(errors.JobNotFoundError):
        await hm.get_status(f"bad-{topic}")
    # the same graph starts a job once the input is readable
    if topic == "fail.maps":
        out = await hm.pubsub(topic, {"id": "good", "text": '{"a": 1}'}, timeout=10)
        assert out["data"] == {"parsed": {"a": 1}}


@pytest.mark.parametrize("cron", ["not a cron", "0 0 30 2 *", 42])
async def test_a_sleep_from_a_failed_cron_next_delay_passes_through(
    mesh: MeshFactory, cron: Any
) -> None:
    hm = await mesh("failing")
    await hm.deploy(FAILING)
    await hm.activate("1")
    # nextDelay gives -1 (invalid, never due, or not a string): no timer is set
    out = await hm.pubsub("cron.go", {"cron": cron}, timeout=10)
    assert out["data"] == {"woke": True}
