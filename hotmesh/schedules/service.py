"""``hm.schedules``: durable schedules, and the firing loop every process runs.

A firing pass locks the due schedule rows (``FOR UPDATE SKIP LOCKED``: each
row is handled by one process at a time), starts each tick's job under the id
``<schedule id>:<scheduled time>`` and advances the row, all in one
transaction. A pass that dies commits nothing and the next pass, anywhere,
fires the same ticks under the same ids, so each tick starts at most once and
none is lost.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hotmesh import errors
from hotmesh.engine.commit import Written
from hotmesh.schedules import delayed, timing
from hotmesh.schedules import spec as specs
from hotmesh.store.records import ENGINE_STREAM
from hotmesh.store.schedules import ScheduleRows
from hotmesh.store.tx import StoreTx
from hotmesh.telemetry import logs

if TYPE_CHECKING:
    from hotmesh.mesh import HotMesh

log = logs.get("hotmesh.schedules")
#: schedules one pass locks at most (the rest go to the next pass)
PASS_ROWS = 20
#: seconds to let another process's pass finish a row it holds
_BUSY = 0.05
#: jobs a transaction started, to hand to the engine once it commits
Fired = list[str]
Runs = list[tuple[datetime, str, str | None, datetime]]
Started = list[Written]
_TIMING = ("cron", "every", "timezone", "start_at", "end_at", "jitter")


def _public(row: dict[str, Any], spec: specs.ScheduleSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": spec.id,
        "topic": spec.topic,
        "data": spec.data,
        **{k: v for k, v in spec.options().items() if k != "job_id_field"},
        "paused": bool(row["paused"]),
        "next_fire_at": row.get("next_at"),
        "last_job_id": row.get("last_job_id"),
    }
    if row.get("version"):
        out["version"] = row["version"]
    return out


class Schedules:
    """The schedules of one app: create, list, get, update, pause, resume, delete, trigger."""

    def __init__(self, mesh: HotMesh) -> None:
        self._mesh = mesh
        self._rows = ScheduleRows(mesh.store)
        self._wake = asyncio.Event()

    @property
    def _app(self) -> str:
        return self._mesh.app_id

    def _now(self) -> datetime:
        return self._mesh.clock.now()

    # -- the API ---------------------------------------------------------------
    async def create(
        self,
        schedule_id: str,
        topic: str,
        data: dict[str, Any] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Create a schedule (``ConfigError`` naming a bad option; ``StoreConflictError``
        if the id is taken). Returns it as ``get`` would, without runs."""
        spec = specs.build(schedule_id, topic, data, options)
        row = self._row(spec, self._now())
        async with self._mesh.store.transaction() as tx:
            if not await self._rows.insert(tx, self._app, "", row):
                raise errors.StoreConflictError(
                    f"schedule '{schedule_id}' already exists in app '{self._app}'"
                )
        self._wake.set()
        return _public(row, spec)

    def _row(self, spec: specs.ScheduleSpec, now: datetime) -> dict[str, Any]:
        base = timing.anchor(spec, now)
        cursor = timing.initial_cursor(spec, now)
        return {
            "id": spec.id,
            "topic": spec.topic,
            "data": spec.data,
            "options": spec.options(),
            "paused": spec.paused,
            "base": base,
            "handled_to": cursor,
            "next_at": timing.next_fire(spec, base, cursor),
        }

    async def list(self) -> list[dict[str, Any]]:
        """Every schedule of the app (API and active manifest version), with its next fire time."""
        out = []
        for row in await self._rows.list(self._app):
            out.append(_public(row, self._spec(row)))
        return out

    def _spec(self, row: dict[str, Any]) -> specs.ScheduleSpec:
        return specs.from_row(row["id"], row["topic"], row["data"], row["options"])

    async def get(
        self, schedule_id: str, upcoming: int = 5, runs: int = 10
    ) -> dict[str, Any]:
        """One schedule with its next ``upcoming`` fire times and latest ``runs`` ticks."""
        async with self._mesh.store.transaction() as tx:
            row = await self._locked(tx, schedule_id)
            recent = await self._rows.runs(
                tx, self._app, row["version"], schedule_id, runs
            )
        spec = self._spec(row)
        out = _public(row, spec)
        cursor = row["handled_to"]
        out["upcoming"] = (
            []
            if row["next_at"] is None
            else timing.upcoming(spec, row["base"], cursor, upcoming)
        )
        out["recent_runs"] = recent
        return out

    async def _locked(self, tx: StoreTx, schedule_id: str) -> dict[str, Any]:
        row = await self._rows.get(tx, self._app, schedule_id)
        if row is None:
            raise errors.ScheduleNotFoundError(schedule_id)
        return row

    async def update(self, schedule_id: str, **changes: Any) -> dict[str, Any]:
        """Change a schedule's topic, data or options; a new timing starts from now."""
        async with self._mesh.store.transaction() as tx:
            row = await self._locked(tx, schedule_id)
            if row["version"]:
                raise errors.ConfigError(
                    f"schedule '{schedule_id}' comes from manifest version "
                    f"'{row['version']}': change the manifest instead"
                )
            options = dict(row["options"])
            topic = changes.pop("topic", row["topic"])
            data = changes.pop("data", row["data"])
            specs.check_options(changes)
            if "cron" in changes and changes["cron"] is not None:
                options["every"] = None
            if "every" in changes and changes["every"] is not None:
                options["cron"] = None
            options.update(changes)
            options = {k: v for k, v in options.items() if v is not None}
            spec = specs.build(schedule_id, topic, data, options)
            now = self._now()
            new = self._row(spec, now)
            if not any(k in changes for k in _TIMING):
                new["base"], new["handled_to"] = row["base"], row["handled_to"]
                new["next_at"] = timing.next_fire(spec, row["base"], row["handled_to"])
            await self._rows.update(tx, self._app, "", new)
        self._wake.set()
        return _public(new, spec)

    async def pause(self, schedule_id: str) -> None:
        """Stop firing until ``resume`` (ticks in between are not caught up)."""
        await self._set_paused(schedule_id, True)

    async def resume(self, schedule_id: str) -> None:
        """Fire again, from now on."""
        await self._set_paused(schedule_id, False)

    async def _set_paused(self, schedule_id: str, paused: bool) -> None:
        async with self._mesh.store.transaction() as tx:
            row = await self._locked(tx, schedule_id)
            spec = self._spec(row)
            new = {**row, "paused": paused}
            if not paused and row["paused"]:
                now = self._now()
                new["handled_to"] = max(
                    timing.initial_cursor(spec, now), row["handled_to"]
                )
                new["next_at"] = timing.next_fire(spec, row["base"], new["handled_to"])
            options = {**row["options"], "paused": paused}
            new["options"] = options
            await self._rows.update(tx, self._app, row["version"], new)
        self._wake.set()

    async def delete(self, schedule_id: str) -> None:
        """Delete a schedule and its run records (jobs it started are kept)."""
        async with self._mesh.store.transaction() as tx:
            row = await self._locked(tx, schedule_id)
            if row["version"]:
                raise errors.ConfigError(
                    f"schedule '{schedule_id}' comes from manifest version "
                    f"'{row['version']}': remove it from the manifest"
                )
            await self._rows.delete(tx, self._app, "", schedule_id)

    async def trigger(self, schedule_id: str) -> str:
        """Start the schedule's job now (whatever its timing and overlap); returns its id."""
        started: Started = []
        async with self._mesh.store.transaction() as tx:
            row = await self._locked(tx, schedule_id)
            spec = self._spec(row)
            now = self._now()
            manual = f"{timing.job_id(spec.id, now)}-{uuid.uuid4().hex[:8]}"
            job_id = await self._start(tx, spec, now, started, manual)
            await self._rows.record_runs(
                tx,
                self._app,
                row["version"],
                spec.id,
                [(now, "triggered", job_id, now)],
            )
            await self._rows.set_last(tx, self._app, row["version"], spec.id, job_id)
        self._woken(started)
        return job_id

    # -- manifest schedules ----------------------------------------------------
    async def deploy_version(
        self, version: str, declared: Sequence[specs.ScheduleSpec]
    ) -> None:
        """Store the schedules a manifest version declares (they fire only
        while that version is active; a redeploy keeps their firing state)."""
        if not declared:
            return
        now = self._now()
        rows = [self._row(spec, now) for spec in declared]
        async with self._mesh.store.transaction() as tx:
            await self._rows.insert_version(tx, self._app, version, rows)

    async def activate_version(self, version: str) -> None:
        """``version`` became active: its schedules count ticks from now on,
        so the time the version sat inactive is not caught up. Call it before
        the switch (activating the active version again changes nothing)."""
        if await self._mesh.store.active_version(self._app) == version:
            return
        now = self._now()
        async with self._mesh.store.transaction() as tx:
            rows = await self._rows.version_rows(tx, self._app, version)
            nexts = {}
            for row in rows:
                spec = self._spec(row)
                cursor = timing.initial_cursor(spec, now)
                nexts[spec.id] = timing.next_fire(spec, row["base"], cursor)
            if nexts:
                await self._rows.restart_version(tx, self._app, version, now, nexts)
        self._wake.set()

    # -- delayed starts ----------------------------------------------------------
    async def start_later(
        self,
        topic: str,
        data: dict[str, Any],
        start_at: datetime,
        job_id: str | None = None,
        priority: int | None = None,
    ) -> str:
        """Create a job now, status "scheduled", that starts at ``start_at``
        (on the version active now); returns its id."""
        engine = self._mesh.engine
        commit = await engine.prepare(
            topic, data, job_id=job_id, start_at=start_at, priority=priority
        )
        async with self._mesh.store.transaction() as tx:
            written = await engine.commit_in(tx, commit)
            job = commit.job
            await self._rows.delay(tx, self._app, job.job_id, job.gid, start_at)
        engine.after_commit(written)
        self._wake.set()
        return commit.job.job_id

    # -- firing ----------------------------------------------------------------
    async def fire_due(self) -> Fired:
        """Run one firing pass now: start due schedule ticks and queue due
        delayed starts; returns the ids of the jobs it started."""
        now = self._now()
        started: Started = []
        fired: Fired = []
        async with self._mesh.store.transaction() as tx:
            for row in await self._rows.due(tx, self._app, now, PASS_ROWS):
                fired.extend(await self._fire(tx, row, now, started))
            starts = await self._rows.take_starts(
                tx, self._app, now, delayed.PASS_STARTS
            )
            await self._mesh.engine.enqueue(tx, delayed.start_messages(starts))
        self._woken(started)
        if starts:
            self._mesh.engine.events.wake(ENGINE_STREAM, 0.0)
        return fired + [r["job_id"] for r in starts]

    async def _fire(
        self,
        tx: StoreTx,
        row: dict[str, Any],
        now: datetime,
        started: Started,
    ) -> Fired:
        spec = self._spec(row)
        plan = timing.decide(
            spec,
            row["base"],
            row["handled_to"],
            now,
            row["running"],
            row["buffered_at"],
        )
        runs: Runs = []
        fired: Fired = []
        last: str | None = None
        for tick in plan.fire:
            try:
                job_id = await self._start(tx, spec, tick, started)
            except errors.DuplicateJobError:
                continue  # this tick's job exists already: it was fired
            except errors.RETRYABLE:
                raise  # the database is away: the next pass fires this tick
            except errors.HotMeshError as exc:
                # a schedule whose topic or data no longer fits: record, go on
                log.warning("schedule %s: tick %s not started: %s", spec.id, tick, exc)
                runs.append((tick, f"error: {exc}"[:500], None, now))
                continue
            runs.append((tick, "started", job_id, now))
            fired.append(job_id)
            last = job_id
        runs += [(t, "skipped", None, now) for t in plan.skipped]
        runs += [(t, "missed", None, now) for t in plan.missed]
        await self._rows.record_runs(tx, self._app, row["version"], spec.id, runs)
        await self._rows.advance(
            tx,
            self._app,
            row["version"],
            spec.id,
            plan.cursor,
            plan.next_at,
            plan.buffered,
            last,
        )
        return fired

    async def _start(
        self,
        tx: StoreTx,
        spec: specs.ScheduleSpec,
        tick: datetime,
        started: Started,
        job_id: str | None = None,
    ) -> str:
        """Start one tick's job inside ``tx`` (a savepoint: a duplicate rolls back alone)."""
        job_id = job_id or timing.job_id(spec.id, tick)
        data = json.loads(json.dumps(spec.data))
        if spec.job_id_field:
            data[spec.job_id_field] = job_id
        engine = self._mesh.engine
        meta = {"sch": spec.id, "sat": tick.astimezone(UTC).isoformat()}
        commit = await engine.prepare(spec.topic, data, job_id=job_id, metadata=meta)
        async with tx.savepoint():
            written = await engine.commit_in(tx, commit)
        started.append(written)
        return job_id

    def _woken(self, started: Started) -> None:
        for written in started:
            self._mesh.engine.after_commit(written)

    async def run(self, poll: float) -> None:
        """The firing loop: a pass whenever the earliest schedule is due (or at
        least every ``poll`` seconds, to see schedules made elsewhere)."""
        clock = self._mesh.clock
        while True:
            try:
                await self.fire_due()
                due = await self._rows.next_due(self._app)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: try again later
                log.warning("app %s: schedule pass failed: %s", self._app, exc)
                due = None
            self._wake.clear()
            if due is not None and due <= clock.now():
                # another process's pass holds that row: let it finish
                await asyncio.sleep(_BUSY)
                continue
            target = due or datetime.max.replace(tzinfo=UTC)
            sleeper = asyncio.ensure_future(clock.sleep_until(target, poll))
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait(
                    {sleeper, woken}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                sleeper.cancel()
                woken.cancel()
