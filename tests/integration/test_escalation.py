"""C14 (hook-escalation): a waiting hook opens an escalation row; claim, resolve, expire."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hotmesh import HotMesh, errors
from tests.conformance import edited, hook_with
from tests.integration.conftest import MeshFactory


async def _app(
    mesh: MeshFactory, conformance_apps: Path, sleep: int | None = None
) -> HotMesh:
    hm = await mesh("hook-escalation")

    def timed(document: dict[str, Any]) -> None:
        if sleep is not None:
            hook_with(document, "escalation")["sleep"] = sleep

    await hm.deploy(edited(_manifest(conformance_apps), timed))
    await hm.activate("1")
    return hm


def _manifest(root: Path) -> Path:
    return root / "apps" / "hook-escalation" / "v1" / "hotmesh.yaml"


async def test_c14_escalation_row_claim_and_signal(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _app(mesh, conformance_apps)
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await hm.psub("hook-escalation.tested.*", lambda t, out: done.put_nowait(out))
    jid = await hm.pub("hook-escalation.test", {"orderId": "o-1", "region": "us-west"})
    row = await hm.escalations.get_by_signal_key(jid)
    assert row is not None  # written in the step that suspended the hook
    assert row["workflow_id"] == jid and row["topic"] == "hook-escalation.approve"
    assert row["status"] == "pending" and row["role"] == "approver"
    assert (row["type"], row["subtype"], row["priority"]) == (
        "order-approval",
        "regional",
        2,
    )
    assert {"orderId": "o-1", "region": "us-west"}.items() <= row["metadata"].items()
    assert row["envelope"] == {"instructions": "Review and approve or reject the order"}
    rid = str(row["id"])
    assert await hm.escalations.claim(rid, "human-agent-1", 300) is True
    assert await hm.escalations.claim(rid, "someone-else", 300) is False
    claimed = await hm.escalations.get(rid)
    assert claimed is not None
    assert claimed["assigned_to"] == "human-agent-1" and claimed["status"] == "pending"
    await hm.signal(
        "hook-escalation.approve",
        {"id": jid, "approved": True, "approvedBy": "human-agent-1"},
    )
    out = await asyncio.wait_for(done.get(), 10)
    assert out["data"] == {"approved": True, "approvedBy": "human-agent-1"}
    after = await hm.escalations.get(rid)
    assert (
        after is not None and after["status"] == "pending"
    )  # as upstream: a signal leaves it


async def test_resolving_an_escalation_resumes_its_hook(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _app(mesh, conformance_apps)
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await hm.psub("hook-escalation.tested.*", lambda t, out: done.put_nowait(out))
    jid = await hm.pub("hook-escalation.test", {"orderId": "o-2", "region": "eu"})
    [row] = await hm.escalations.list(role="approver")
    assert (
        await hm.escalations.resolve(
            str(row["id"]), {"approved": False, "approvedBy": "lead"}
        )
        == jid
    )
    out = await asyncio.wait_for(done.get(), 10)
    assert out["data"] == {"approved": False, "approvedBy": "lead"}
    resolved = await hm.escalations.get(str(row["id"]))
    assert resolved is not None and resolved["status"] == "resolved"
    assert resolved["resolver_payload"] == {"approved": False, "approvedBy": "lead"}
    assert await hm.escalations.resolve(str(row["id"]), {}) is None  # only once
    assert await hm.escalations.list() == []


async def test_timeout_expires_and_interrupt_cancels_escalations(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _app(mesh, conformance_apps, sleep=1)
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await hm.psub("hook-escalation.tested.*", lambda t, out: done.put_nowait(out))
    late = await hm.pub("hook-escalation.test", {"orderId": "o-3", "region": "eu"})
    stopped = await hm.pub("hook-escalation.test", {"orderId": "o-4", "region": "eu"})
    await hm.interrupt("hook-escalation.test", stopped, throw=False)
    outs = [await asyncio.wait_for(done.get(), 10) for _ in range(2)]
    assert {o["metadata"]["jid"] for o in outs} == {late, stopped}
    expired = await hm.escalations.get_by_signal_key(late)
    cancelled = await hm.escalations.get_by_signal_key(stopped)
    assert expired is not None and expired["status"] == "expired"
    assert cancelled is not None and cancelled["status"] == "cancelled"


async def test_escalation_ids_and_statuses_are_checked(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await _app(mesh, conformance_apps)
    with pytest.raises(errors.ConfigError, match="invalid escalation id"):
        await hm.escalations.get("x'; drop table jobs; --")
    with pytest.raises(errors.ConfigError, match="invalid escalation status"):
        await hm.escalations.list(status="open")


async def test_a_hook_without_escalation_writes_no_row(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await mesh("hook-escalation")
    await hm.deploy(
        edited(
            _manifest(conformance_apps),
            lambda document: hook_with(document, "escalation").pop("escalation"),
        )
    )
    await hm.activate("1")
    jid = await hm.pub("hook-escalation.test", {"orderId": "o-5", "region": "eu"})
    assert await hm.get_status(jid) == 1
    assert await hm.escalations.get_by_signal_key(jid) is None
