"""Flow control enforced in the database: topic and per-key concurrency, crash
recovery of slots, priorities, dedupe keys and bad input (issue 17).

Several HotMesh instances in one process stand for several processes: each
has its own owner id, connections and claims, so only the database can keep
them within a limit; an in-process ledger sees every callback exactly.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from hotmesh import HotMesh, errors, flow
from hotmesh.store.records import worker_stream
from tests.integration.conftest import MeshFactory
from tests.waiting import until_notified

APP = """
app:
  id: flow
  version: '1'
  graphs:
    - subscribes: flow.start
      expire: 300
      activities:
        t: {type: trigger}
        w:
          type: worker
          topic: flow.work
          input: {maps: {n: '{t.output.data.n}'}}
          job: {maps: {n: '{$self.output.data.n}'}}
      transitions:
        t: [{to: w}]
    - subscribes: keyed.start
      expire: 300
      activities:
        k:
          type: trigger
          job: {maps: {customer: '{$self.output.data.customer}'}}
        kw:
          type: worker
          topic: keyed.work
          concurrency: {limit: 1, key: '{$job.data.customer}'}
          input: {maps: {customer: '{k.output.data.customer}'}}
      transitions:
        k: [{to: kw}]
    - subscribes: late.start
      expire: 300
      activities:
        l:
          type: trigger
          job: {maps: {customer: '{$self.output.data.customer}'}}
        first: {type: worker, topic: late.first}
        second:
          type: worker
          topic: late.second
          concurrency: {limit: 2, key: '{$job.data.customer}'}
      transitions:
        l: [{to: first}]
        first: [{to: second}]
    - subscribes: apikey.start
      expire: 300
      activities:
        a:
          type: trigger
          job: {maps: {customer: '{$self.output.data.customer}'}}
        aw:
          type: worker
          topic: apikey.work
          input: {maps: {customer: '{a.output.data.customer}'}}
      transitions:
        a: [{to: aw}]
    - subscribes: urgent.start
      expire: 300
      activities:
        u: {type: trigger}
        uw:
          type: worker
          topic: urgent.work
          priority: '{u.output.data.urgency}'
          input: {maps: {n: '{u.output.data.n}'}}
      transitions:
        u: [{to: uw}]
"""


class Ledger:
    """Callbacks running now, and the most seen at once (overall and per key)."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.keys: Counter[str] = Counter()
        self.key_peak = 0
        self.keys_at_once = 0
        self.done = 0
        self.order: list[Any] = []
        self.finished = asyncio.Event()
        self.expected = 0

    def worker(self, key_field: str | None = None, hold: float = 0.02) -> Any:
        async def work(message: dict[str, Any]) -> dict[str, Any]:
            data = message["data"]
            key = str(data.get(key_field)) if key_field else ""
            self.running += 1
            self.keys[key] += 1
            self.peak = max(self.peak, self.running)
            self.key_peak = max(self.key_peak, self.keys[key])
            self.keys_at_once = max(
                self.keys_at_once, sum(1 for v in self.keys.values() if v)
            )
            self.order.append(data.get("n"))
            try:
                await asyncio.sleep(hold)  # the work itself
            finally:
                self.running -= 1
                self.keys[key] -= 1
                self.done += 1
                if self.done >= self.expected:
                    self.finished.set()
            return {"data": {"n": data.get("n")}}

        return work


async def _deployed(mesh: MeshFactory, **engine: Any) -> HotMesh:
    hm = await mesh("flow", **engine)
    await hm.deploy(APP)
    await hm.activate("1")
    return hm


async def test_a_topic_limit_holds_across_instances_each_with_spare_capacity(
    mesh: MeshFactory,
) -> None:
    ledger = Ledger()
    ledger.expected = 60
    client = await _deployed(mesh)
    await client.set_topic_limits("flow.work", concurrency=3)
    for _ in range(3):  # each could run 64 at once on its own
        await mesh(
            "flow",
            workers=[{"topic": "flow.work", "callback": ledger.worker()}],
            poll=0.2,
        )
    await asyncio.gather(*(client.pub("flow.start", {"n": n}) for n in range(60)))
    await asyncio.wait_for(ledger.finished.wait(), 30)
    assert ledger.peak == 3
    listed = await client.topic_limits()
    assert listed["flow.work"]["concurrency"] == 3
    assert listed["flow.work"]["source"] == "api"


async def test_per_key_limit_one_runs_keys_in_parallel_never_one_key_twice(
    mesh: MeshFactory,
) -> None:
    ledger = Ledger()
    ledger.expected = 100
    client = await _deployed(mesh)
    for _ in range(2):
        await mesh(
            "flow",
            workers=[
                {"topic": "keyed.work", "callback": ledger.worker("customer", 0.05)}
            ],
            poll=0.2,
        )
    jobs = [{"customer": f"c{n % 20}"} for n in range(100)]
    await asyncio.gather(*(client.pub("keyed.start", data) for data in jobs))
    await asyncio.wait_for(ledger.finished.wait(), 60)
    assert ledger.key_peak == 1
    assert ledger.keys_at_once >= 10
    listed = await client.topic_limits()
    assert listed["keyed.work"]["key_concurrency"] == 1
    assert listed["keyed.work"]["source"] == "1"  # declared by version 1


async def test_a_per_key_limit_set_through_the_api_holds_in_every_instance(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    ledger = Ledger()
    ledger.expected = 30
    early = await _deployed(mesh)  # running before the limit is set: told by NOTIFY
    client = await mesh("flow")
    key = "{$job.data.customer}"
    await client.set_topic_limits("apikey.work", concurrency={"limit": 1, "key": key})
    stream = worker_stream("apikey.work")
    await until_notified(
        pg_dsn, lambda: stream in early.engine.topic_keys, 10, "the key heard of"
    )
    assert early.engine.topic_keys[stream] == flow.Keys(key, None)
    for _ in range(3):  # started after: read the keys at start
        await mesh(
            "flow",
            workers=[
                {"topic": "apikey.work", "callback": ledger.worker("customer", 0.1)}
            ],
            poll=0.2,
        )
    jobs = [{"customer": f"c{n % 10}"} for n in range(30)]
    senders = [early, client]  # both send the work: both resolve the key
    await asyncio.gather(
        *(senders[n % 2].pub("apikey.start", d) for n, d in enumerate(jobs))
    )
    await asyncio.wait_for(ledger.finished.wait(), 30)
    assert ledger.key_peak == 1
    assert ledger.keys_at_once >= 5
    listed = (await client.topic_limits())["apikey.work"]
    assert listed["key_concurrency"] == 1 and listed["concurrency_key"] == key
    # a key that resolves to nothing is an error naming the topic's expression
    # (here the work is sent by the trigger, so pub raises it: no job is made)
    with pytest.raises(errors.HotMeshError) as caught:
        await client.pubsub("apikey.start", {"n": 1}, timeout=10)
    assert f"concurrency.key '{key}' of its topic (set_topic_limits)" in str(
        caught.value
    )
    assert "resolved to undefined" in str(caught.value)
    await client.set_topic_limits("apikey.work")  # removed: no key any more
    await until_notified(
        pg_dsn, lambda: stream not in early.engine.topic_keys, 10, "the key dropped"
    )


async def test_a_key_waits_first_in_first_out_without_holding_back_other_keys(
    mesh: MeshFactory,
) -> None:
    client = await _deployed(mesh)
    for n in range(3):
        await client.pub("keyed.start", {"customer": "busy", "n": n})
    await client.pub("keyed.start", {"customer": "other"})
    store = client.store
    stream = worker_stream("keyed.work")
    first = await store.claim("flow", stream, "p1", 30.0, 10)
    # one of "busy" (the oldest) and the "other" one; the rest of "busy" waits
    assert sorted(m.ckey or "" for m in first.messages) == ["busy", "other"]
    assert first.limited
    assert (await store.claim("flow", stream, "p2", 30.0, 10)).messages == []
    oldest = min(m.id for m in first.messages if m.ckey == "busy")
    assert await store.ack(oldest, "p1")
    after = await store.claim("flow", stream, "p2", 30.0, 10)
    assert [m.ckey for m in after.messages] == ["busy"]
    assert after.messages[0].id > oldest  # the next "busy" in order


async def test_a_dead_claims_slot_frees_when_its_claim_expires(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    client = await _deployed(mesh)
    await client.set_topic_limits("flow.work", concurrency=1)
    await client.pub("flow.start", {"n": 1})
    await client.pub("flow.start", {"n": 2})
    stream = worker_stream("flow.work")
    held = await client.store.claim("flow", stream, "dead-process", 60.0, 10)
    assert len(held.messages) == 1
    blocked = await client.store.claim("flow", stream, "alive", 60.0, 10)
    assert blocked.messages == [] and blocked.limited
    assert blocked.wait is not None and 0 < blocked.wait <= 60
    # the dead process never beats again: its claim runs out
    async with client.store.transaction() as tx:
        await tx._conn.execute(
            "UPDATE hotmesh.messages SET reserved_until = now() - interval '1 second' "
            "WHERE reserved_by = 'dead-process'"
        )
    freed = await client.store.claim("flow", stream, "alive", 60.0, 10)
    # one slot: the expired message is taken again first (it is the oldest)
    assert [m.id for m in freed.messages] == [held.messages[0].id]


async def test_priority_orders_waiting_work_first_in_first_out_among_equals(
    mesh: MeshFactory,
) -> None:
    ledger = Ledger()
    ledger.expected = 8
    client = await _deployed(mesh)
    for n in range(8):
        await client.pub("flow.start", {"n": n}, priority=5 if n % 2 else 0)
    for n in range(8, 11):
        await client.pub("urgent.start", {"n": n, "urgency": n})
    worker = await mesh("flow", poll=0.2)
    worker.add_worker(
        {"topic": "flow.work", "callback": ledger.worker(), "capacity": 1}
    )
    await asyncio.wait_for(ledger.finished.wait(), 20)
    assert ledger.order == [1, 3, 5, 7, 0, 2, 4, 6]
    ledger.order.clear()
    ledger.expected += 3
    ledger.finished.clear()
    worker.add_worker(
        {"topic": "urgent.work", "callback": ledger.worker(), "capacity": 1}
    )
    await asyncio.wait_for(ledger.finished.wait(), 20)
    assert ledger.order == [10, 9, 8]  # the activity's priority mapping


async def test_dedupe_returns_the_first_jobs_id_within_the_window(
    mesh: MeshFactory,
) -> None:
    client = await _deployed(mesh)
    ids = await asyncio.gather(
        *(
            client.pub("flow.start", {"n": n}, dedupe_key="order-7", dedupe_window="5m")
            for n in range(5)
        )
    )
    assert len(set(ids)) == 1
    assert (await client.get_state("flow.start", ids[0]))["metadata"]["jid"] == ids[0]
    other = await client.pub("flow.start", {"n": 9}, dedupe_key="order-8")
    assert other != ids[0]
    # the window ends (moved into the past here, instead of waiting 5 minutes)
    async with client.store.transaction() as tx:
        await tx._conn.execute(
            "UPDATE hotmesh.dedupe SET expires_at = now() - interval '1 second' "
            "WHERE key = 'order-7'"
        )
    again = await client.pub("flow.start", {"n": 10}, dedupe_key="order-7")
    assert again != ids[0]


async def test_a_key_that_resolves_to_nothing_fails_that_job_clearly(
    mesh: MeshFactory,
) -> None:
    async def first(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {}}

    client = await _deployed(mesh, workers=None)
    client.add_worker({"topic": "late.first", "callback": first})
    with pytest.raises(errors.JobError) as caught:
        await client.pubsub("late.start", {"n": 1}, timeout=10)
    message = str(caught.value)
    assert "concurrency.key" in message and "'{$job.data.customer}'" in message
    assert "resolved to undefined" in message


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"concurrency": 0}, "'concurrency' must be an integer of at least 1"),
        ({"concurrency": {"limit": "3"}}, "'concurrency.limit' must be an integer"),
        (
            {"concurrency": {"limt": 3}},
            "'concurrency.limt' is not an option (did you mean 'limit'?)",
        ),
        ({"rate": {"limit": 5}}, "'rate.period' is required"),
        ({"rate": {"limit": 5, "period": "fast"}}, "'rate.period' must be a duration"),
        ({"rate": {"limit": 5, "period": 0}}, "'rate.period' must be a duration"),
        ({"rate": {"limit": -1, "period": "1s"}}, "'rate.limit' must be an integer"),
        ({"rate": 10}, "'rate' must be {'limit': N"),
        (
            {"concurency": 3},
            "'concurency' is not an option (did you mean 'concurrency'?)",
        ),
        (
            {"concurrency": {"limit": 1, "key": "customer"}},
            "'concurrency.key' must be a mapping expression that reads the job",
        ),
        (
            {"rate": {"limit": 1, "period": "1s", "key": "{$job.data.c"}},
            "'rate.key' '{$job.data.c': unclosed '{'",
        ),
        (
            {"concurrency": {"limit": 1, "key": "{@nope.fn}"}},
            "'concurrency.key' '{@nope.fn}': unknown function",
        ),
    ],
)
async def test_bad_topic_limits_are_config_errors_naming_the_field(
    mesh: MeshFactory, options: dict[str, Any], field: str
) -> None:
    client = await _deployed(mesh)
    with pytest.raises(errors.ConfigError) as caught:
        await client.set_topic_limits("flow.work", **options)
    assert field in str(caught.value)
    assert "set_topic_limits('flow.work')" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"priority": "high"}, "'priority' must be an integer from -32768 to 32767"),
        ({"priority": 40000}, "'priority' must be an integer"),
        (
            {"dedupe_key": "k", "dedupe_window": "-1s"},
            "'dedupe_window' must be a duration",
        ),
        ({"dedupe_key": ""}, "'dedupe_key' must be a non-empty string"),
        ({"dedupe_window": "5m"}, "'dedupe_window' needs a 'dedupe_key'"),
    ],
)
async def test_bad_pub_flow_options_are_config_errors_naming_the_field(
    mesh: MeshFactory, options: dict[str, Any], field: str
) -> None:
    client = await _deployed(mesh)
    with pytest.raises(errors.ConfigError, match=None) as caught:
        await client.pub("flow.start", {"n": 1}, **options)
    assert field in str(caught.value)
