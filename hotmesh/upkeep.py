"""An app's versions and expired rows: deploy a manifest, prune what expired.

``HotMesh.deploy`` and ``HotMesh.prune`` (and the engines' pruning timer, and
the CLI's ``prune``) call these; they hold no engine state.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hotmesh import errors
from hotmesh.clock import SYSTEM, Clock
from hotmesh.compiler import compile_checked, plan_to_document
from hotmesh.graph import load_app
from hotmesh.schedules import Schedules
from hotmesh.schedules import manifest as manifest_schedules
from hotmesh.store.postgres import PostgresStore
from hotmesh.telemetry import logs

log = logs.get("hotmesh.mesh")
#: manifest warnings of ``deploy`` (the CLI prints them itself and mutes this)
deploy_log = logs.get("hotmesh.deploy")
#: rows deleted per statement by an explicit prune (``HotMesh.prune``, the CLI)
PRUNE_BATCH = 1000
#: real seconds a paced prune waits at most for a clock that does not move
#: (a test's ``ManualClock``): the pause is measured on the injected clock
PAUSE_CAP = 60.0


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


@dataclass(frozen=True)
class Pacing:
    """How an engine's background pruning spreads its deletes (engine options
    ``prune_batch``, ``prune_pace``, ``prune_max_pause``).

    After a statement that took ``t`` seconds the pass waits ``pace * t``,
    up to twice that while this process's consumers are full, never longer
    than ``max_pause``: the deletes hold at most ``1 / (1 + pace)`` of one
    connection's time (autovacuum's cost delay, by elapsed time), and a
    backlog still drains at ``batch / (t + max_pause)`` rows a second or more.
    """

    batch: int
    pace: float
    max_pause: float

    def pause(self, took: float, busy: float) -> float:
        """Seconds to wait after a statement of ``took`` seconds; ``busy`` is
        the share (0..1) of this process's capacity in use."""
        busy = min(max(busy, 0.0), 1.0)
        return min(self.max_pause, self.pace * max(took, 0.0) * (1.0 + busy))


#: an explicit prune's: no pause between its statements
AT_ONCE = Pacing(PRUNE_BATCH, 0.0, 0.0)


async def prune(
    store: PostgresStore,
    app_id: str,
    retention: float,
    progress: Callable[[int, int], None] = lambda jobs, signals: None,
) -> dict[str, int]:
    """Delete ``app_id``'s jobs expired more than ``retention`` seconds ago
    (with their rows) and expired early signals, ``PRUNE_BATCH`` rows a
    statement without pauses; ``progress(jobs, signals)`` after each batch."""
    return await prune_paced(
        store, app_id, retention, AT_ONCE, SYSTEM, progress=progress
    )


async def prune_paced(
    store: PostgresStore,
    app_id: str,
    retention: float,
    pacing: Pacing,
    clock: Clock,
    busy: Callable[[], float] = lambda: 0.0,
    progress: Callable[[int, int], None] = lambda jobs, signals: None,
    timer: Callable[[], float] = time.perf_counter,
) -> dict[str, int]:
    """Delete what ``prune`` does, ``pacing.batch`` rows a statement with a
    pause after each (``Pacing.pause``) waited on ``clock``; ``timer`` measures the statements
    (a test passes its own). Ends when a statement finds less than a batch:
    one pass drains the whole backlog, gently."""
    total = {"jobs": 0, "signals": 0}
    while True:
        started = timer()
        jobs, signals = await store.prune(app_id, retention, pacing.batch)
        took = timer() - started
        total["jobs"] += jobs
        total["signals"] += signals
        progress(total["jobs"], total["signals"])
        if jobs < pacing.batch and signals < pacing.batch:
            return total
        pause = pacing.pause(took, busy())
        if pause > 0:
            await clock.sleep_until(clock.now() + timedelta(seconds=pause), PAUSE_CAP)


async def prune_every(
    every: float,
    once: Callable[[], Awaitable[dict[str, int]]],
    stopped: Callable[[], bool],
    app_id: str,
    clock: Clock,
) -> None:
    """Run ``once`` every ``every`` seconds (on ``clock``, or after ``every``
    real seconds if it stands still) until ``stopped()``.

    A maintenance timer, not a wait for work: expired rows only need to go
    eventually, and every engine of the app shares the job (SKIP LOCKED). A
    failed pass is logged as a warning and tried again next time.
    """
    while not stopped():
        await clock.sleep_until(clock.now() + timedelta(seconds=every), every)
        try:
            pruned = await once()
        except Exception as exc:  # the database is away: try again next time
            log.warning("app %s: pruning failed: %s", app_id, exc)
            continue
        if pruned["jobs"] or pruned["signals"]:
            log.info("app %s: pruned %s", app_id, pruned)
