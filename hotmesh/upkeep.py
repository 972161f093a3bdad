"""An app's versions and expired rows: deploy a manifest, prune what expired.

``HotMesh.deploy`` and ``HotMesh.prune`` (and the engines' pruning timer, and
the CLI's ``prune``) call these; they hold no engine state.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from hotmesh import errors
from hotmesh.compiler import compile_checked, plan_to_document
from hotmesh.graph import load_app
from hotmesh.schedules import Schedules
from hotmesh.schedules import manifest as manifest_schedules
from hotmesh.store.postgres import PostgresStore
from hotmesh.telemetry import logs

log = logs.get("hotmesh.mesh")
#: manifest warnings of ``deploy`` (the CLI prints them itself and mutes this)
deploy_log = logs.get("hotmesh.deploy")
#: rows deleted per statement when pruning
PRUNE_BATCH = 1000


async def deploy(
    store: PostgresStore,
    schedules: Schedules,
    app_id: str,
    source: str | os.PathLike[str],
    *,
    strict: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
    ref_root: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Compile and store a version of ``app_id`` (see ``HotMesh.deploy``)."""
    manifest = load_app(source, base_dir=base_dir, ref_root=ref_root)
    plan, warnings = compile_checked(manifest, strict)
    if plan.app_id != app_id:
        raise errors.ConfigError(
            f"manifest app id '{plan.app_id}' does not match this HotMesh ('{app_id}')"
        )
    declared = manifest_schedules.declared(manifest, plan)
    doc = manifest_schedules.plan_document(plan_to_document(plan), declared)
    if not await store.insert_version(app_id, plan.version, doc):
        stored = await store.get_plan(app_id, plan.version)
        if stored != doc:
            raise errors.StoreConflictError(
                f"app '{app_id}' version '{plan.version}' is already deployed with a "
                "different plan; bump the version"
            )
    await schedules.deploy_version(plan.version, declared)
    for warning in warnings:
        deploy_log.warning("%s", warning)
    return {
        "app_id": app_id,
        "version": plan.version,
        "warnings": [str(w) for w in warnings],
    }


async def prune(
    store: PostgresStore,
    app_id: str,
    retention: float,
    progress: Callable[[int, int], None] = lambda jobs, signals: None,
) -> dict[str, int]:
    """Delete ``app_id``'s jobs expired more than ``retention`` seconds ago
    (with their rows) and expired early signals, ``PRUNE_BATCH`` rows a
    statement; ``progress(jobs, signals)`` after each batch."""
    total = {"jobs": 0, "signals": 0}
    while True:
        jobs, signals = await store.prune(app_id, retention, PRUNE_BATCH)
        total["jobs"] += jobs
        total["signals"] += signals
        progress(total["jobs"], total["signals"])
        if jobs < PRUNE_BATCH and signals < PRUNE_BATCH:
            return total


async def prune_every(
    every: float,
    once: Callable[[], Awaitable[dict[str, int]]],
    stopped: Callable[[], bool],
    app_id: str,
) -> None:
    """Run ``once`` every ``every`` seconds until ``stopped()``.

    A maintenance timer, not a wait for work: expired rows only need to go
    eventually, and every engine of the app shares the job (SKIP LOCKED).
    """
    while not stopped():
        await asyncio.sleep(every)
        try:
            pruned = await once()
        except Exception as exc:  # the database is away: try again next time
            log.warning("app %s: pruning failed: %s", app_id, exc)
            continue
        if pruned["jobs"] or pruned["signals"]:
            log.info("app %s: pruned %s", app_id, pruned)
