"""The ``HotMesh`` client: deploy/activate versions, publish jobs, run workers, read state."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, ClassVar

from hotmesh import errors, ids, telemetry, upkeep
from hotmesh.clock import Clock
from hotmesh.config import resolve_dsn
from hotmesh.engine import heap, notes, step
from hotmesh.engine.engine import Engine, finished
from hotmesh.engine.options import EngineOptions
from hotmesh.engine.retry import RetryPolicy
from hotmesh.engine.router import Consumer
from hotmesh.engine.workers import (
    Callback,
    TopicCallbacks,
    callback_handler,
    check_worker,
)
from hotmesh.escalations import Escalations
from hotmesh.flow_control import FlowControl, FlowVerbs, pub_options
from hotmesh.job_control import JobControl, job_result, outcome
from hotmesh.opening import Opening
from hotmesh.presence import Presence
from hotmesh.pubsub import PubSubVerbs
from hotmesh.schedules import Schedules, delayed
from hotmesh.store import postgres
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.records import ENGINE_STREAM, JobRow, Message, worker_stream
from hotmesh.subscriptions import SubCallback, Subscriptions
from hotmesh.telemetry import logs
from hotmesh.upkeep import PRUNE_BATCH as PRUNE_BATCH
from hotmesh.upkeep import deploy_log as deploy_log

log = logs.get("hotmesh.mesh")
#: seconds ``stop()`` lets in-flight steps and worker callbacks finish
STOP_GRACE = 30.0


class _Events:
    """The engine's events (``EngineEvents``), delivered to one ``HotMesh``."""

    __slots__ = ("_mesh",)

    def __init__(self, mesh: HotMesh) -> None:
        self._mesh = mesh

    def wake(self, stream: str, delay: float) -> None:
        self._mesh._wake(stream, delay)

    def dispatch(self, stream: str, msg: Message) -> None:
        self._mesh._dispatch(stream, msg)

    def emitted(self, job_id: str, output: dict[str, Any], publishes: str) -> None:
        self._mesh._emitted(job_id, output, publishes)

    def completed(
        self, job_id: str, output: dict[str, Any] | None, publishes: str
    ) -> None:
        self._mesh.presence.finished(output, self._mesh.clock.now())
        self._mesh._completed(job_id, output, publishes)


class HotMesh(JobControl, FlowVerbs, PubSubVerbs):
    """One app on one database: an engine, its workers, and the client API."""

    _instances: ClassVar[set[HotMesh]] = set()

    def __init__(
        self,
        app_id: str,
        store: PostgresStore,
        options: EngineOptions | None = None,
    ) -> None:
        self.app_id = app_id
        self.store = store
        opts = options or EngineOptions()
        #: the options this instance runs with (checked and frozen by ``init``)
        self.options = opts
        self.engine = Engine(store, app_id, opts, _Events(self))
        #: the clock of this process (``engine={"clock": ManualClock()}`` in tests)
        self.clock: Clock = opts.clock
        self._lease = opts.lease
        self._poll = opts.poll
        self._retention = opts.retention
        self._prune_every = opts.prune_interval
        self._pacing = upkeep.Pacing(
            opts.prune_batch, opts.prune_pace, opts.prune_max_pause
        )
        self._pruner: asyncio.Task[None] | None = None
        self._gauges: telemetry.gauges.Watch | None = None
        self._capacity = opts.capacity
        self._consumers: dict[str, Consumer] = {}
        #: the worker callbacks of each topic (threads, timeout, abandoned counts)
        self.callbacks: dict[str, TopicCallbacks] = {}
        self._waiters: dict[str, list[asyncio.Future[dict[str, Any] | None]]] = {}
        #: this process's ``sub``/``psub`` callbacks
        self.subscriptions = Subscriptions()
        #: the human-in-the-loop queue of this app
        self.escalations = Escalations(self.engine, store)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False
        #: durable cron/interval schedules of this app (every process fires them)
        self.schedules = Schedules(self)
        #: topic limits every process obeys (``set_topic_limits``, manifests)
        self.flow = FlowControl(store, app_id)
        self._firing = opts.schedules
        self._scheduler: asyncio.Task[None] | None = None
        #: this process's row in the process registry (beating after ``init``)
        self.presence = Presence(store, app_id, self.engine.owner, opts.heartbeat)

    # -- lifecycle -----------------------------------------------------------
    @classmethod
    def init(
        cls,
        app_id: str,
        engine: dict[str, Any] | None = None,
        workers: list[dict[str, Any]] | None = None,
        *,
        dsn: str | None = None,
        schema: str | None = None,
    ) -> Opening[HotMesh]:
        """Connect (migrating the schema if needed), start the engine and the workers.

        ``hm = await HotMesh.init(...)``, or ``async with HotMesh.init(...) as hm:``
        (stopped when the block ends). ``dsn=`` and ``schema=`` win over the
        ``engine`` dict's; the schema then falls back to ``HOTMESH_SCHEMA``.
        """
        return Opening(lambda: cls._open(app_id, engine, workers, dsn, schema))

    @classmethod
    async def _open(
        cls,
        app_id: str,
        engine: dict[str, Any] | None,
        workers: list[dict[str, Any]] | None,
        dsn: str | None,
        schema: str | None,
    ) -> HotMesh:
        ids.check_app_id(app_id)
        options = EngineOptions.from_dict(engine, dsn=dsn, schema=schema)
        for worker in workers or []:
            check_worker(worker)
        # Starting the embedded server (no DSN configured) blocks for a second
        # or two; keep the event loop free meanwhile.
        resolved = await asyncio.to_thread(resolve_dsn, options.dsn)
        store = await PostgresStore.open(resolved, options.schema, options.pool_size)
        store.commits.enabled = options.group_commit
        mesh = cls(app_id, store, options)
        try:
            await store.listen(mesh._on_notify, mesh._on_reconnect)
            mesh.engine.active = await store.active_version(app_id)
            keys, limited = await mesh.flow.rows.key_exprs(app_id)
            mesh.engine.topic_keys, mesh.engine.flow_streams = keys, limited
        except BaseException:
            await store.close()
            raise
        mesh._add_consumer(ENGINE_STREAM, mesh.engine.handle, mesh._capacity)
        for worker in workers or []:
            mesh._add_worker(worker)
        if mesh._retention is not None:
            mesh._pruner = asyncio.get_running_loop().create_task(mesh._prune_loop())
        if mesh._firing:
            mesh._scheduler = asyncio.get_running_loop().create_task(
                mesh.schedules.run(mesh._poll)
            )
        mesh._gauges = telemetry.meters.watch(app_id, store.stats)
        await mesh.presence.start(mesh._streams)
        cls._instances.add(mesh)
        if options.gc_freeze:
            heap.engine_started()
        return mesh

    def _add_consumer(
        self, stream: str, handle: Callable[[Message], Awaitable[None]], capacity: int
    ) -> None:
        consumer = Consumer(
            self.store,
            self.app_id,
            stream,
            self.engine.owner,
            handle,
            capacity,
            self._lease,
            self._poll,
            self.engine.give_up,
        )
        self._consumers[stream] = consumer
        self.engine.local_streams.add(stream)
        consumer.start()

    def _add_worker(self, worker: dict[str, Any]) -> None:
        topic = check_worker(worker)
        callback: Callback = worker["callback"]
        if worker.get("retry") is not None:
            self.engine.retry_policies[topic] = RetryPolicy.from_options(
                dict(worker["retry"])
            )
        timeout = worker.get("timeout")
        callbacks = TopicCallbacks(
            topic,
            callback,
            int(worker.get("capacity", 64)),
            None if timeout is None else float(timeout),
            app=self.app_id,
            committed=worker.get("committed"),
        )
        self.callbacks[topic] = callbacks
        if worker.get("inline"):
            self.engine.inline_workers[worker_stream(topic)] = callbacks
        handle = callback_handler(
            callbacks,
            self.engine.worker_done,
            self.engine.poison_threshold,
            lambda: self._stopped,
            self.engine.give_up,
        )
        self._add_consumer(
            worker_stream(topic), handle, int(worker.get("capacity", 64))
        )

    async def stop(self, grace: float = STOP_GRACE) -> dict[str, Any]:
        """Stop claiming, finish in-flight steps, release claims, close connections.

        Returns within about ``grace`` seconds (default 30) even when worker
        callbacks hang: those still running then are abandoned, their claims
        released (another process runs them again), and reported:
        ``{"abandoned": [{"stream", "message", "job_id"}...], "stuck_threads":
        {topic: n}}`` (threads of synchronous callbacks that never returned).
        """
        report: dict[str, Any] = {"abandoned": [], "stuck_threads": {}}
        if self._stopped:
            return report
        self._stopped = True
        self.engine.inline_workers.clear()  # in-flight steps leave work to consumers
        telemetry.gauges.unwatch(self._gauges)
        if self._pruner is not None:  # mid-statement or mid-pause: it goes now
            self._pruner.cancel()
            await asyncio.gather(self._pruner, return_exceptions=True)
        if self._scheduler is not None:
            self._scheduler.cancel()
            await asyncio.gather(self._scheduler, return_exceptions=True)
        left = await asyncio.gather(*(c.stop(grace) for c in self._consumers.values()))
        for consumer, msgs in zip(self._consumers.values(), left, strict=True):
            for msg in msgs:
                md = msg.payload.get("metadata") or {}
                report["abandoned"].append(
                    {
                        "stream": consumer.stream,
                        "message": msg.id,
                        "job_id": md.get("jid"),
                    }
                )
        report["stuck_threads"] = {
            t: c.stuck for t, c in self.callbacks.items() if c.stuck
        }
        if report["abandoned"] or report["stuck_threads"]:
            log.warning("stopped after %.3g s grace, abandoning %s", grace, report)
        await self._bounded(self.presence.stop(), "remove the registry row")
        await self._bounded(self.store.release(self.engine.owner), "release claims")
        await self.store.close()
        HotMesh._instances.discard(self)
        if self.engine.gc_freeze:
            heap.engine_stopped()
        return report

    async def _bounded(self, work: Awaitable[None], what: str) -> None:
        """A stop's statement, given up after ``CLOSE_GRACE``: the pool's
        connections may all be held by tasks that never give them back, and
        only the store's close (after it) ends those. Claims not released
        expire as a dead process's do."""
        try:
            await asyncio.wait_for(work, postgres.CLOSE_GRACE)
        except TimeoutError:
            log.warning(
                "stop: could not %s within %.3g s (no connection free): skipped",
                what,
                postgres.CLOSE_GRACE,
            )

    @classmethod
    async def stop_all(cls) -> None:
        """Stop every instance in this process."""
        await asyncio.gather(*(m.stop() for m in list(cls._instances)))

    async def __aenter__(self) -> HotMesh:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @classmethod
    def attach(cls, app_id: str, store: PostgresStore) -> HotMesh:
        """A client of ``app_id`` on an open store that runs no engine work (no
        consumer, no worker, no timers): deploy, publish, signal, read. The
        caller keeps owning ``store`` (the CLI opens and closes it)."""
        return cls(ids.check(app_id, "app id"), store)

    @property
    def stopped(self) -> bool:
        """Whether ``stop`` was called."""
        return self._stopped

    def _streams(self) -> tuple[bool, list[str], int]:
        """The engine stream?, worker topics and claimed messages, for the registry."""
        topics = [t for t in self.callbacks if worker_stream(t) in self._consumers]
        held = sum(len(c.held) for c in self._consumers.values())
        return ENGINE_STREAM in self._consumers, topics, held

    # -- notifications ---------------------------------------------------------
    def _wake(self, stream: str, delay: float) -> None:
        consumer = self._consumers.get(stream)
        if consumer is not None:
            consumer.wake(delay)

    def _dispatch(self, stream: str, msg: Message) -> None:
        consumer = self._consumers.get(stream)
        if consumer is not None:
            consumer.submit(msg)

    async def prune(
        self, retention: float | None = None, *, paced: bool = False
    ) -> dict[str, int]:
        """Delete the rows of this app's jobs that expired more than ``retention``
        seconds ago (default: the engine's ``retention``), with their activity
        rows, and early signals past their ``signal_ttl``; returns ``{"jobs": n,
        "signals": m}``. At once, or ``paced`` as every engine does each
        ``prune_interval`` seconds (``prune_batch`` rows a statement, pausing
        ``prune_pace`` times each statement's time)."""
        keep = self._retention if retention is None else float(retention)
        if keep is None:
            raise errors.ConfigError("pruning is off (retention=None): pass retention")
        if not paced:
            return await upkeep.prune(self.store, self.app_id, keep)
        return await upkeep.prune_paced(
            self.store, self.app_id, keep, self._pacing, self.clock, self._busy
        )

    def _busy(self) -> float:
        """The share of this process's consumer capacity holding messages."""
        held = sum(len(c.held) for c in self._consumers.values())
        return held / max(1, sum(c.capacity for c in self._consumers.values()))

    async def _prune_loop(self) -> None:
        await upkeep.prune_every(
            self._prune_every,
            lambda: self.prune(paced=True),
            lambda: self._stopped,
            self.app_id,
            self.clock,
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background, kept alive until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _completed(
        self, job_id: str, output: dict[str, Any] | None, publishes: str
    ) -> None:
        telemetry.job_ended(job_id, output, self.engine.read, self._spawn)
        for fut in self._waiters.pop(job_id, []):
            if not fut.done():
                fut.set_result(output)
        self._emitted(job_id, output, publishes)

    def _emitted(
        self, job_id: str, output: dict[str, Any] | None, publishes: str
    ) -> None:
        """Publish a job's output to subscribers of ``publishes`` (and ``.<job id>``)."""
        subs = self.subscriptions.callbacks(f"{publishes}.{job_id}", publishes)
        if publishes and subs:
            self._spawn(self._publish(publishes, job_id, output, subs))

    def _on_reconnect(self) -> None:
        """The LISTEN connection came back: wake every consumer and re-check
        every ``pubsub`` waiter, since notifications may have been missed."""
        for consumer in self._consumers.values():
            self._spawn(consumer.resync())
        self._spawn(self.flow.read_keys(self.engine))  # a change may be unheard
        if self._waiters:
            self._spawn(self._recheck_waiters())

    async def _recheck_waiters(self) -> None:
        for job_id in list(self._waiters):
            try:
                job = await self.engine.read(job_id, include_expired=True)
            except Exception:  # still reconnecting: the pubsub timeout remains
                log.warning("could not re-check job %s after reconnecting", job_id)
                continue
            if job is not None and finished(job):
                self._completed(job_id, step.job_output(job), "")

    def _on_notify(self, payload: str) -> None:
        note = notes.decode(payload)
        if note is None or note.app != self.app_id:
            return  # another app's, or a kind this version does not know
        if isinstance(note, notes.Activated | notes.LimitsChanged):
            if isinstance(note, notes.Activated):
                self.engine.active = note.version
            self._spawn(self.flow.read_keys(self.engine))  # topic keys may change
            return
        if note.origin == self.engine.owner:
            return  # we already acted on our own commit (or published it)
        match note:
            case notes.Messages(stream=stream, delay=delay):
                self._wake(stream, delay)
            case notes.Done(job_id=job_id, publishes=publishes):
                self._completed(job_id, None, publishes)
            case notes.Emitted(job_id=job_id, publishes=publishes):
                self._emitted(job_id, None, publishes)
            case notes.UserMessage(topic=topic, body=body):
                self._deliver(topic, json.loads(body))

    async def _publish(
        self,
        topic: str,
        job_id: str,
        output: dict[str, Any] | None,
        subs: list[SubCallback],
    ) -> None:
        if output is None:
            job = await self.engine.read(job_id, include_expired=True)
            if job is None:
                return
            output = step.job_output(job)
        for callback in subs:
            result = callback(topic, output)
            if inspect.isawaitable(result):
                await result

    # -- versions ----------------------------------------------------------------
    async def deploy(
        self,
        source: str | os.PathLike[str],
        *,
        strict: bool = False,
        base_dir: str | os.PathLike[str] | None = None,
        ref_root: str | os.PathLike[str] | None = None,
    ) -> dict[str, Any]:
        """Compile and store a version (idempotent for an identical plan).

        ``$ref``s resolve only inside ``ref_root`` (default: the manifest's
        folder); YAML text references files only when ``base_dir`` is given.
        Returns ``{"app_id", "version", "warnings"}``: each warning (an unknown
        key, an unreachable activity) as a ``file:line:col: warning: ...`` line,
        also logged. ``strict=True`` refuses the manifest when it has any.
        Nothing is stored unless the manifest compiles, so a refused deploy
        leaves its version number free.
        """
        return await upkeep.deploy(
            self.store,
            self.schedules,
            self.app_id,
            source,
            strict=strict,
            base_dir=base_dir,
            ref_root=ref_root,
        )

    async def activate(self, version: str) -> None:
        """Make ``version`` active in every connected process (NOTIFY, no restart)."""
        version = str(version)
        plan = await self.engine.plan(version)
        await self.flow.activate(plan, self.engine)  # its workers' topic limits
        self.engine.limited_streams.clear()
        await self.schedules.activate_version(version)  # its schedules start from now
        await self.store.activate(self.app_id, version)
        self.engine.active = version
        await self.store.notify(notes.encode(notes.Activated(self.app_id, version)))

    # -- jobs ----------------------------------------------------------------------
    async def pub(
        self,
        topic: str,
        data: dict[str, Any] | None = None,
        pending: float | None = None,
        *,
        start_at: datetime | str | None = None,
        delay: float | str | None = None,
        priority: int | None = None,
        dedupe_key: str | None = None,
        dedupe_window: float | str | None = None,
    ) -> str:
        """Start a job; returns its id (``DuplicateJobError`` for a live duplicate).

        ``pending=seconds``: created, not started (status -1), expiring
        after that long. ``start_at=`` (aware datetime) or ``delay=`` (``"10m"``):
        created now, "scheduled", started then on the version active now.
        ``priority`` orders its work messages (higher first). With
        ``dedupe_key``, a second pub with that key within ``dedupe_window``
        (default 5 minutes) of the first starts nothing and returns the first
        job's id.
        """
        priority, dedupe_key, window = pub_options(priority, dedupe_key, dedupe_window)
        ids.check(topic, "topic")
        when = delayed.start_time(self.clock.now(), start_at, delay, pending)
        if when is not None and when > self.clock.now():
            if dedupe_key is not None:
                raise errors.ConfigError(
                    "pub: 'dedupe_key' cannot be combined with start_at/delay"
                )
            return await self.schedules.start_later(
                topic, dict(data or {}), when, priority=priority
            )
        if pending is not None and (
            isinstance(pending, bool)
            or not isinstance(pending, (int, float))
            or pending <= 0
        ):
            raise errors.ConfigError(
                f"pending must be a positive number of seconds, not {pending!r}"
            )
        with telemetry.JobSpan(self.app_id, topic, self.engine.owner, data) as span:
            commit = await self.engine.prepare(
                topic, dict(data or {}), pending=pending, priority=priority,
                metadata=span.metadata,
            )  # fmt: skip
            span.opened(commit.job.job_id)
            if dedupe_key is not None:
                holder = await self.engine.start_once(commit, dedupe_key, window)
                span.deduplicated(holder)
                return holder
            await self.engine.start(commit)
        return commit.job.job_id

    async def pubsub(
        self, topic: str, data: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Start a job and wait for its output (``JobError`` if it failed)."""
        ids.check(topic, "topic")
        with telemetry.JobSpan(self.app_id, topic, self.engine.owner, data) as span:
            commit = await self.engine.prepare(
                topic, dict(data or {}), metadata=span.metadata
            )
            span.opened(commit.job.job_id)
        job_id = commit.job.job_id
        # The engine that waits (as upstream's ``ngn``): whoever completes the
        # job elsewhere must NOTIFY; completed here, no NOTIFY is needed.
        commit = commit.with_metadata(ngn=self.engine.owner)
        fut: asyncio.Future[dict[str, Any] | None] = (
            asyncio.get_running_loop().create_future()
        )
        # registered before the commit, so a completion cannot slip past us
        self._waiters.setdefault(job_id, []).append(fut)
        job: JobRow | None = None
        try:
            await self.engine.start(commit)
            output = await outcome(fut, timeout)
            if output is not None:
                return job_result(job_id, output)
            job = await self.engine.read(job_id, include_expired=True)
        finally:
            waiters = self._waiters.get(job_id, [])
            if fut in waiters:
                waiters.remove(fut)
            if not waiters:
                self._waiters.pop(job_id, None)
        if job is None or not finished(job):
            raise errors.JobTimeoutError(
                job_id, timeout, await self.engine.waits(job_id)
            )
        return job_result(job_id, step.job_output(job))

    def add_worker(self, worker: dict[str, Any]) -> None:
        """Start consuming a worker topic after ``init`` (same keys as ``workers``)."""
        topic = check_worker(worker)
        if worker_stream(topic) in self._consumers:
            raise errors.ConfigError(f"a worker for '{topic}' already runs here")
        self._add_worker(worker)
        self.presence.changed()

    async def remove_worker(self, topic: str) -> None:
        """Stop consuming a worker topic; its in-flight messages finish first."""
        consumer = self._consumers.pop(worker_stream(topic), None)
        if consumer is None:
            return
        self.engine.inline_workers.pop(worker_stream(topic), None)
        await consumer.stop(STOP_GRACE)  # hung callbacks: their claims released below
        self.engine.local_streams.discard(worker_stream(topic))
        self.engine.retry_policies.pop(topic, None)
        await self._bounded(
            self.store.release_stream(
                self.app_id, worker_stream(topic), self.engine.owner
            ),
            f"release the claims of {topic}",
        )
        self.presence.changed()
