"""Web hooks and signals: C9 (hook-timeout), C10 (signal v1), C13 (hook v1), and races."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hotmesh import HotMesh, errors
from tests.integration.conftest import MeshFactory


class Inbox:
    """Subscription messages, awaited with a timeout (no sleeps)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    def __call__(self, topic: str, output: dict[str, Any]) -> None:
        self.queue.put_nowait((topic, output))

    async def next(self, timeout: float = 10.0) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.queue.get(), timeout)


def _source(conformance_apps: Path, app: str, **sleeps: int) -> str:
    text = (conformance_apps / "apps" / app / "v1" / "hotmesh.yaml").read_text()
    for old, new in sleeps.items():
        text = text.replace(f"sleep: {old[1:]}", f"sleep: {new}")
    return text


async def _hook_timeout(mesh: MeshFactory, conformance_apps: Path) -> HotMesh:
    hm = await mesh("hook-timeout")
    # the upstream app with its 10 s / 5 s timeouts cut to 2 s / 1 s
    await hm.deploy(_source(conformance_apps, "hook-timeout", s10=2, s5=1))
    await hm.activate("1")
    return hm


async def test_c9_signal_wins_over_the_timeout(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _hook_timeout(mesh, conformance_apps)
    inbox = Inbox()
    await hm.sub("hook.timeout.tested.sig-1", inbox)
    await hm.pub("hook.timeout.test", {"job_id": "sig-1"})
    resumed = await hm.signal(
        "hook.timeout.resume",
        {"id": "sig-1", "done": True, "payload": "signal-arrived"},
    )
    assert resumed == "sig-1"
    topic, out = await inbox.next()
    assert topic == "hook.timeout.tested"
    assert out["data"]["signaled"] is True
    assert out["data"]["signal_data"] == "signal-arrived"


async def test_c9_timeout_wins_without_a_signal(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _hook_timeout(mesh, conformance_apps)
    inbox = Inbox()
    await hm.sub("hook.expire.tested.exp-1", inbox)
    await hm.pub("hook.expire.test", {"job_id": "exp-1"})
    _, out = await inbox.next(timeout=5)
    assert out["data"]["signaled"] is False
    # the timeout removed the registration: a late signal finds no hook, and
    # is not kept for a later job with this id (issue 20 §5)
    with pytest.raises(errors.JobInactiveError, match=r"hook\.expire\.resume:exp-1"):
        await hm.signal("hook.expire.resume", {"id": "exp-1", "done": True})


async def test_c9_dynamic_sleep(mesh: MeshFactory, conformance_apps: Path) -> None:
    hm = await _hook_timeout(mesh, conformance_apps)
    inbox = Inbox()
    await hm.psub("hook.dynamic.tested.*", inbox)
    # null timeout: a pure web hook, resumed by its signal
    await hm.pub("hook.dynamic.test", {"job_id": "dyn-null"})
    await hm.signal(
        "hook.dynamic.resume",
        {"id": "dyn-null", "done": True, "payload": "no-timeout-signal"},
    )
    _, out = await inbox.next()
    assert out["data"] == {"signaled": True, "signal_data": "no-timeout-signal"}
    # a 1 s timeout with no signal: the timer wins
    await hm.pub("hook.dynamic.test", {"job_id": "dyn-1", "timeout": 1})
    _, out = await inbox.next()
    assert out["metadata"]["jid"] == "dyn-1" and out["data"]["signaled"] is False
    # a 10 s timeout beaten by a signal
    await hm.pub("hook.dynamic.test", {"job_id": "dyn-10", "timeout": 10})
    await hm.signal(
        "hook.dynamic.resume",
        {"id": "dyn-10", "done": True, "payload": "beat-the-clock"},
    )
    _, out = await inbox.next()
    assert out["data"] == {"signaled": True, "signal_data": "beat-the-clock"}


async def test_c9_signal_and_timer_race_exactly_one_wins(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    """50 jobs whose 1 s timer and signal land together: one completion each."""
    hm = await _hook_timeout(mesh, conformance_apps)
    inbox = Inbox()
    await hm.psub("hook.expire.tested.*", inbox)
    ids = [f"race-{i}" for i in range(50)]
    await asyncio.gather(*(hm.pub("hook.expire.test", {"job_id": j}) for j in ids))
    await asyncio.sleep(0.98)  # aim the signals at the timers' due time
    sent = await asyncio.gather(
        *(hm.signal("hook.expire.resume", {"id": j, "done": True}) for j in ids),
        return_exceptions=True,
    )
    # a signal resumes its job, or (the timer won) is kept while the job
    # finishes, or is refused once it has finished
    for j, result in zip(ids, sent, strict=True):
        assert result in (j, None) or isinstance(result, errors.JobInactiveError)
    seen: dict[str, int] = {}
    for _ in ids:
        _, out = await inbox.next()
        jid = out["metadata"]["jid"]
        seen[jid] = seen.get(jid, 0) + 1
        assert isinstance(out["data"]["signaled"], bool)
    assert sorted(seen) == sorted(ids) and set(seen.values()) == {1}
    await asyncio.sleep(0.3)  # any duplicate completion would arrive now
    assert inbox.queue.empty()


async def test_c10_status_threshold_closes_without_registering(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await mesh("signal")
    await hm.deploy(conformance_apps / "apps" / "signal" / "v1" / "hotmesh.yaml")
    await hm.activate("1")
    inbox = Inbox()
    await hm.psub("signal.toggled.*", inbox)
    await hm.pub("signal.toggle", {"jobId": "xyz123", "statusThreshold": 1})
    _, out = await inbox.next()
    assert out["metadata"]["jid"] == "xyz123" and out["data"]["done"] is False
    await hm.pub("signal.toggle", {"jobId": "pdq123"})
    await hm.signal(
        "waitForSignaler.doPleaseResume",
        {"id": "pdq123", "done": True, "howdy": "pardner"},
    )
    _, out = await inbox.next()
    assert out["metadata"]["jid"] == "pdq123"
    assert out["data"]["done"] is True and out["data"]["howdy"] == "pardner"
    assert inbox.queue.empty()


async def _signal_app(mesh: MeshFactory, conformance_apps: Path) -> HotMesh:
    hm = await mesh("signal")
    await hm.deploy(_source(conformance_apps, "signal", s5=1))
    await hm.activate("1")
    return hm


async def test_c10_signal_activity_one_sends_202_then_200(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _signal_app(mesh, conformance_apps)
    parent, child = Inbox(), Inbox()
    await hm.sub("signal.one.tested.signalone123", parent)
    await hm.sub("hook.tested.xyz456", child)
    await hm.pub(
        "signal.one.test", {"job_id": "signalone123", "child_flow_id": "xyz456"}
    )
    _, done = await parent.next()
    assert done["metadata"]["jid"] == "signalone123" and done["metadata"]["js"] == 0
    # the child emitted at its trigger, on the 202 signal, and completed on the 200
    outputs = [await child.next() for _ in range(3)]
    assert all(o["data"]["parent_job_id"] == "signalone123" for _, o in outputs)
    assert [o["data"]["done"] for _, o in outputs] == [False, False, True]
    history = await hm.export("signalone123")
    ran = {a["name"] for a in history["activities"]}
    assert {"onepender", "oneender", "onesignaler", "twosignaler"} <= ran


async def test_c10_signal_activity_all_resumes_indexed_jobs(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _signal_app(mesh, conformance_apps)
    parent, child = Inbox(), Inbox()
    await hm.sub("signal.tested.signalall123", parent)
    await hm.sub("hook.tested.abc123", child)
    await hm.pub("signal.test", {"job_id": "signalall123", "child_flow_id": "abc123"})
    _, done = await parent.next()
    assert done["metadata"]["jid"] == "signalall123"
    outputs = [o for _, o in [await child.next(), await child.next()]]
    assert all(o["data"]["parent_job_id"] == "signalall123" for o in outputs)
    assert outputs[-1]["data"]["done"] is True


async def test_c13_signal_before_the_hook_registers_is_not_lost(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await mesh("hook")
    await hm.deploy(conformance_apps / "apps" / "hook" / "v1" / "hotmesh.yaml")
    await hm.activate("1")
    inbox = Inbox()
    await hm.sub("hook.tested.late-1", inbox)
    await hm.pub("hook.test", {"parent_job_id": "p", "job_id": "late-1"})
    _, first = await inbox.next()
    assert first["data"]["done"] is False  # the trigger's emit
    assert await hm.signal("hook.resume", {"id": "late-1", "done": True}) == "late-1"
    _, final = await inbox.next()
    assert final["data"]["done"] is True and final["metadata"]["js"] == 0
    # now the other order: the signal first, kept until the hook registers
    early = Inbox()
    await hm.sub("hook.tested.early-1", early)
    # the job does not exist yet: kept only when asked (issue 20 §5)
    with pytest.raises(errors.SignalNotKeptError, match="keep=True"):
        await hm.signal("hook.resume", {"id": "early-1", "done": True})
    assert await hm.early_signals() == []
    assert (
        await hm.signal("hook.resume", {"id": "early-1", "done": True}, keep=True)
        is None
    )
    assert [s["key"] for s in await hm.early_signals()] == ["hook.resume:early-1"]
    await hm.pub("hook.test", {"parent_job_id": "p", "job_id": "early-1"})
    outputs = [(await early.next())[1], (await early.next())[1]]
    assert outputs[-1]["data"]["done"] is True and outputs[-1]["metadata"]["js"] == 0


async def test_signal_race_with_registration_over_200_jobs(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    """Signals sent concurrently with the jobs that register their hooks: none lost."""
    hm = await mesh("hook")
    await hm.deploy(conformance_apps / "apps" / "hook" / "v1" / "hotmesh.yaml")
    await hm.activate("1")
    ids = [f"r-{i}" for i in range(200)]
    done: dict[str, asyncio.Future[dict[str, Any]]] = {
        j: asyncio.get_running_loop().create_future() for j in ids
    }

    def finished(topic: str, out: dict[str, Any]) -> None:
        fut = done.get(out["metadata"]["jid"])
        if out["metadata"]["js"] == 0 and fut is not None and not fut.done():
            fut.set_result(out)

    await hm.psub("hook.tested.*", finished)

    async def one(i: int, job_id: str) -> None:
        pub = hm.pub("hook.test", {"parent_job_id": "p", "job_id": job_id})
        # the job may not exist yet: keep=True keeps the signal for it
        sig = hm.signal("hook.resume", {"id": job_id, "done": True}, keep=True)
        await asyncio.gather(*((sig, pub) if i % 2 else (pub, sig)))

    await asyncio.gather(*(one(i, j) for i, j in enumerate(ids)))
    results = await asyncio.wait_for(asyncio.gather(*done.values()), 30)
    assert all(r["data"]["done"] is True for r in results)


async def test_signal_on_an_unknown_topic_is_a_clear_error(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await mesh("hook")
    await hm.deploy(conformance_apps / "apps" / "hook" / "v1" / "hotmesh.yaml")
    await hm.activate("1")
    with pytest.raises(errors.UnknownTopicError, match="no hook listening on 'nope'"):
        await hm.signal("nope", {"id": "x"})
