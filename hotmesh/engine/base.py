"""The engine's state and its after-commit hooks: plans, the state cache, wake-ups.

``EngineBase`` holds what every part of the engine shell shares; the parts are
layered on it: ``effects`` (a step's writes and side effects), ``batcher``
(group commit per job), ``children`` (parent/child messaging) and ``engine``
(the entry points).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from hotmesh import clock, errors, telemetry
from hotmesh.compiler import Plan, plan_from_document
from hotmesh.engine import heap, step
from hotmesh.engine.cache import StateCache
from hotmesh.engine.commit import Written
from hotmesh.engine.options import EngineOptions
from hotmesh.engine.ports import Store, Transaction
from hotmesh.engine.retry import RetryPolicy
from hotmesh.flow import Keys
from hotmesh.store.records import Message

if TYPE_CHECKING:
    from hotmesh.engine.workers import TopicCallbacks

#: seconds a refused hand-over sends a stream's work out announced instead
LIMITED_FOR = 1.0


class EngineEvents(Protocol):
    """What the engine tells the process it runs in, after each commit.

    ``HotMesh`` implements it (waking its consumers, resolving ``pubsub``
    waiters, calling subscribers); it is given to the engine's constructor.
    """

    def wake(self, stream: str, delay: float) -> None:
        """New messages on ``stream``, visible after ``delay`` seconds."""

    def dispatch(self, stream: str, msg: Message) -> None:
        """A message committed already reserved for this process's consumer."""

    def emitted(self, job_id: str, output: dict[str, Any], publishes: str) -> None:
        """A running job emitted its output (``emit``) to ``publishes``."""

    def completed(
        self, job_id: str, output: dict[str, Any] | None, publishes: str
    ) -> None:
        """A job finished; ``output`` is ``None`` when only another process has it."""


class NoEvents:
    """Events nobody listens to (an engine used without a ``HotMesh``)."""

    def wake(self, stream: str, delay: float) -> None:
        pass

    def dispatch(self, stream: str, msg: Message) -> None:
        pass

    def emitted(self, job_id: str, output: dict[str, Any], publishes: str) -> None:
        pass

    def completed(
        self, job_id: str, output: dict[str, Any] | None, publishes: str
    ) -> None:
        pass


class EngineBase:
    """Runs steps for one app on one store; ``events`` wakes local consumers."""

    def __init__(
        self,
        store: Store,
        app_id: str,
        options: EngineOptions | None = None,
        events: EngineEvents | None = None,
    ) -> None:
        opts = options or EngineOptions()
        self.store = store
        self.app_id = app_id
        self.owner = f"{app_id}:{uuid.uuid4().hex[:12]}"
        self._plans: dict[str, Plan] = {}
        self._plan_lock = asyncio.Lock()
        self.active: str | None = None
        self.lease = opts.lease
        #: what "now" is for job timestamps and schedules (a test moves its own)
        self.clock: clock.Clock = opts.clock
        #: steps waiting per job while a step of that job runs here (group commit)
        self._pending: dict[str, list[tuple[int, str, dict[str, Any], Any]]] = {}
        self._running: set[str] = set()
        #: job states this process wrote last: the next step here writes in one
        #: statement, guarded by the row version, instead of lock-read-write
        self.states = StateCache(opts.state_cache)
        #: how long a signal waits for its hook to register (600 s by default)
        self.signal_ttl = opts.signal_ttl
        #: early signals one key keeps at most, and their size as JSON text
        self.signal_max_pending = opts.signal_max_pending
        self.signal_max_bytes = opts.signal_max_bytes
        #: bound on one value entering a job, as JSON text (engine/payload.py)
        self.max_data_bytes = opts.max_data_bytes
        #: claims of one message after which it is treated as poison
        self.poison_threshold = opts.poison_threshold
        #: cap on re-entries of one cycle pivot
        self.max_cycles = opts.max_cycles
        #: cap on the steps of one job (a loop without end fails, issue 20 §3)
        self.max_steps = opts.max_steps
        #: freeze long-lived objects out of full garbage collections (engine/heap.py)
        self.gc_freeze = opts.gc_freeze
        #: structured retry policies per worker topic (they win over a YAML ``retry`` map)
        self.retry_policies: dict[str, RetryPolicy] = {}
        #: streams this process consumes: their new messages are inserted reserved by us
        self.local_streams: set[str] = set()
        #: local streams of inline workers (engine/inline.py), by stream
        self.inline_workers: dict[str, TopicCallbacks] = {}
        #: local streams whose work the database lately would not hand over
        #: pre-claimed (a flow limit was reached, or work waited), each with
        #: the ``time.monotonic()`` until which their messages go out unclaimed,
        #: with a NOTIFY, so every process's consumer hears of them, not only
        #: ours; then the hand-over is asked for again (a hint, not a clock the
        #: semantics read: real time, so a test's manual clock cannot pin it)
        self.limited_streams: dict[str, float] = {}
        #: the key expressions of API-set keyed limits, by stream, read at
        #: start and again when a process says they changed (``set_topic_limits``)
        self.topic_keys: dict[str, Keys] = {}
        #: every stream with flow limits (read with ``topic_keys``): an inline
        #: worker is never called past them
        self.flow_streams: frozenset[str] = frozenset()
        #: the host told of commits (wake-ups, dispatches, completions)
        self.events: EngineEvents = events or NoEvents()

    @property
    def insert_lease(self) -> float:
        """The claim on a message inserted for a local consumer.

        Short, because the consumer's heartbeat extends it as soon as the
        message is held; if the commit succeeded but its acknowledgement was
        lost (a cut connection), the message was never handed over and must
        become free quickly, not after a whole lease.
        """
        return min(self.lease, 5.0)

    # -- plans -------------------------------------------------------------
    async def plan(self, version: str, tx: Transaction | None = None) -> Plan:
        """The plan of ``version`` (cached; plans are immutable).

        Inside a step pass ``tx``: taking a second pooled connection while
        holding one could exhaust the pool and deadlock.
        """
        plan = self._plans.get(version)
        if plan is not None:
            return plan
        if tx is not None:
            return await self._load_plan(version, tx)
        # One load at a time: the first steps of a cold engine (50 starts in
        # flight) each compiled the same graph (MemFlow's: 2.4 ms of CPU each).
        # A step holding a connection does not wait here (see above).
        async with self._plan_lock:
            plan = self._plans.get(version)
            return plan if plan is not None else await self._load_plan(version, None)

    async def _load_plan(self, version: str, tx: Transaction | None) -> Plan:
        source = tx if tx is not None else self.store
        doc = await source.get_plan(self.app_id, version)
        if doc is None:
            raise errors.UnknownAppVersionError(
                f"app '{self.app_id}' has no deployed version '{version}'"
            )
        plan = self._plans.get(version)  # another load finished meanwhile
        if plan is None:
            plan = plan_from_document(doc)
            self._plans[version] = plan
            if self.gc_freeze:
                heap.settle()  # the plan lives as long as the engine
        return plan

    async def active_plan(self) -> Plan:
        """The plan of the active version."""
        if self.active is not None and (plan := self._plans.get(self.active)):
            return plan  # the usual case: no coroutine for ``plan``
        if self.active is None:
            self.active = await self.store.active_version(self.app_id)
        if self.active is None:
            raise errors.UnknownAppVersionError(
                f"app '{self.app_id}' has no active version"
            )
        return await self.plan(self.active)

    # -- after commit ------------------------------------------------------
    def _publishes(self, commit: step.StepCommit) -> str:
        """The ``publishes`` topic of the job's graph ('' when none)."""
        plan = self._plans.get(commit.job.version)
        graph = plan.graph_for_topic(commit.job.topic) if plan else None
        return (graph.publishes if graph else None) or ""

    def _remember(self, written: Written) -> None:
        """After commit: cache the states written. A job written twice in one
        transaction has one row version for both writes: forget it instead."""
        if not written.chained:  # the usual case: one job written
            self.states.remember(
                written.commit, written.version, written.status, written.pk,
                written.messages,
            )  # fmt: skip
            return
        every: list[Written] = []
        todo = [written]
        while todo:
            w = todo.pop()
            every.append(w)
            todo.extend(w.chained)
        ids = [w.commit.job.job_id for w in every]
        for w in every:
            if ids.count(w.commit.job.job_id) > 1:
                self.states.drop(w.commit.job.job_id)
            else:
                self.states.remember(w.commit, w.version, w.status, w.pk, w.messages)

    def _woken(self, written: Written, top: bool = True) -> None:
        """After commit: hand reserved messages to local consumers, wake the others."""
        if top:
            self._remember(written)
        commit = written.commit
        telemetry.committed(commit)
        for chained in written.chained:
            self._woken(chained, top=False)
        handed = {msg.payload.get("guid") for msg in written.reserved}
        for msg in written.reserved:
            self.events.dispatch(msg.stream, msg)
        for new in written.messages:
            # Asked for reserved but not handed over: its topic's flow limits
            # had no room, so it waits for a claim (which counts it); wake ours
            # to make one, and announce the topic's next work for a while.
            if new.reserved_by is None or new.guid not in handed:
                if new.reserved_by is not None:
                    until = time.monotonic() + LIMITED_FOR
                    self.limited_streams[new.stream] = until
                self.events.wake(new.stream, new.delay)
        if commit.emit is not None:
            self.events.emitted(commit.job.job_id, commit.emit, self._publishes(commit))
        if commit.completion is not None:
            self.events.completed(
                commit.job.job_id,
                commit.completion.output,
                commit.completion.publishes or "",
            )
