"""A pure harness for activity rules: no database, no event loop.

It starts a job with the pure ``step.trigger``, then feeds every message a
step returns to the next step (``step.apply``), in the order the engine would
see them (by visibility time, then priority). Worker messages are answered
from a dict; hook registrations, signals, awaited children and escalations
are kept in plain dicts and lists, using the engine's own pure routing
(``engine.routing``). Time stands still until ``tick`` moves it to the next
due message, so a hook's ``sleep`` fires without waiting.

It mirrors what ``engine.effects`` does in a transaction, in memory, so a rule
of the pure step can be tested end to end in a few milliseconds. It is not a
store: no claims, leases, retries or crashes (the integration tests own those).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hotmesh.compiler import compile_source
from hotmesh.compiler.plan import Plan
from hotmesh.engine import routing, step
from hotmesh.engine.commit import advance
from hotmesh.engine.metadata import ParentRef
from hotmesh.engine.payload import worker_response
from hotmesh.store.records import ENGINE_STREAM, JobRow, NewMessage

Worker = Callable[[dict[str, Any]], Any]
START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass
class Harness:
    """Runs one app's jobs in memory. ``workers`` maps a worker topic to a
    callback (``message -> response``) or to a fixed response."""

    plan: Plan
    workers: dict[str, Worker | dict[str, Any]] = field(default_factory=dict)
    now: datetime = START
    jobs: dict[str, JobRow] = field(default_factory=dict)
    #: signal key -> the waiting hook (``jid``, ``gid``, ``aid``, ``dad``)
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: signal key -> signals that came before their hook
    kept: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: job id -> its output once it finished
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: open escalation rows, and ``(topic, key, status)`` of closed ones
    escalations: list[dict[str, Any]] = field(default_factory=list)
    closed: list[tuple[str, str, str]] = field(default_factory=list)
    #: every worker message, as the callback saw it: ``(topic, message)``
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: every step applied: ``(job id, message type)``
    trace: list[tuple[str, str]] = field(default_factory=list)
    _queue: list[tuple[datetime, int, int, NewMessage]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def of(cls, manifest: str, **workers: Worker | dict[str, Any]) -> Harness:
        """A harness for the YAML ``manifest`` (worker topics as keywords, with
        ``_`` for ``.``: ``order_pay=...`` answers topic ``order.pay``)."""
        topics = {name.replace("_", "."): answer for name, answer in workers.items()}
        return cls(compile_source(manifest), topics)

    # -- entry points ------------------------------------------------------------
    def start(self, topic: str, data: dict[str, Any], job_id: str | None = None) -> str:
        """Start a job on ``topic`` and run until nothing is due; its id."""
        graph = self.plan.graph_for_topic(topic)
        assert graph is not None, f"no graph subscribes to {topic!r}"
        commit = step.trigger(self.plan, graph, data, self.now, job_id=job_id)
        self._commit(commit)
        self.run()
        return commit.job.job_id

    def signal(self, topic: str, data: dict[str, Any]) -> str | None:
        """Send a signal (as ``HotMesh.signal``); the resumed job, or ``None``
        when no hook waits yet (the signal is then kept)."""
        resumed = self._route(topic, data, "success", 200)
        self.run()
        return resumed

    def resolve(self, escalation: dict[str, Any], data: dict[str, Any]) -> str | None:
        """Resolve an open escalation row and resume its hook with ``data``."""
        self.escalations.remove(escalation)
        key = f"{escalation['topic']}:{escalation['signal_key']}"
        resumed = self._deliver(key, {"data": data, "status": "success", "code": 200})
        self.run()
        return resumed

    def run(self, limit: int = 1000) -> None:
        """Apply every message due now (and those they make due now)."""
        for _ in range(limit):
            if not self._queue or self._queue[0][0] > self.now:
                return
            _due, _prio, _n, msg = heapq.heappop(self._queue)
            self._handle(msg)
        raise AssertionError(f"still running after {limit} steps: a loop?")

    def tick(self) -> None:
        """Move time to the next due message (a hook's ``sleep``) and run."""
        if self._queue:
            self.now = max(self.now, self._queue[0][0])
        self.run()

    # -- one message -------------------------------------------------------------
    def _handle(self, msg: NewMessage) -> None:
        if msg.stream != ENGINE_STREAM:
            self._work(msg)
            return
        if msg.type == "await":
            self._start_child(msg.payload)
            return
        job_id = str(msg.payload.get("metadata", {}).get("jid"))
        job = self.jobs.get(job_id)
        if job is None:
            return  # the job is gone (the engine acks and drops it too)
        self.trace.append((job_id, msg.type))
        commit = step.apply(self.plan, job, msg.type, msg.payload, self.now)
        if commit.dropped is None:
            self._commit(commit, job)

    def _work(self, msg: NewMessage) -> None:
        """Answer a worker message from ``workers`` (as ``Engine.worker_done``)."""
        md = dict(msg.payload.get("metadata", {}))
        topic = str(md.get("topic"))
        message = {"metadata": md, "data": msg.payload.get("data", {})}
        self.calls.append((topic, message))
        answer = self.workers[topic]
        response = worker_response(answer(message) if callable(answer) else answer)
        if response is None:
            return
        metadata = {**md, **(response.get("metadata") or {})}
        metadata.update({k: md[k] for k in ("jid", "gid", "dad", "aid") if k in md})
        payload = {
            "metadata": metadata,
            "status": response.get("status") or "success",
            "code": response.get("code"),
            "data": response.get("data"),
        }
        self._send(NewMessage(ENGINE_STREAM, "response", payload, str(md["jid"]), 4))

    def _start_child(self, payload: dict[str, Any]) -> None:
        topic = str(payload.get("topic"))
        graph = self.plan.graph_for_topic(topic)
        parent = dict(payload.get("parent") or {})
        if graph is None:  # as Engine._answer_parent: the parent gets a 404
            md = ParentRef.from_metadata(parent).address.to_metadata()
            error = {"message": f"no graph subscribed to '{topic}'", "code": 404}
            result = {"metadata": md, "status": "error", "code": 404, "data": error}
            self._send(NewMessage(ENGINE_STREAM, "result", result, str(md["jid"]), 3))
            return
        data = payload.get("data") or {}
        self._commit(step.trigger(self.plan, graph, data, self.now, parent=parent))

    # -- what the shell does with a commit ---------------------------------------
    def _commit(self, commit: step.StepCommit, before: JobRow | None = None) -> None:
        job = (
            advance(commit.job, commit, status=commit.delta)
            if before is None
            else advance(before, commit)
        )
        self.jobs[job.job_id] = job
        for msg in commit.messages:
            self._send(msg)
        for key in commit.unregister:
            self.hooks.pop(key, None)
        for reg in commit.register:
            target = {"jid": job.job_id, "gid": job.gid, "aid": reg.aid, "dad": reg.dad}
            self.hooks[reg.key] = target
            for early in self.kept.pop(reg.key, []):
                self._send(routing.webhook(target, early))
        for out in commit.signals:
            self._route(out.topic, out.data, out.status, out.code)
        for row in commit.escalations:
            self.escalations.append({**row, "workflow_id": job.job_id})
        for topic, key in commit.expired_escalations:
            self.closed.append((topic, key, "expired"))
        if commit.completion is not None:
            self.outputs[job.job_id] = step.job_output(job)

    def _route(
        self, topic: str, data: dict[str, Any], status: str, code: int
    ) -> str | None:
        rule = self.plan.hook_rule(topic)
        assert rule is not None, f"no hook listens on {topic!r}"
        key, _value = routing.signal_key(rule, data)
        signal = {"data": data, "status": status, "code": code}
        resumed = self._deliver(key, signal)
        if resumed is None:
            self.kept.setdefault(key, []).append(signal)
        return resumed

    def _deliver(self, key: str, signal: dict[str, Any]) -> str | None:
        target = self.hooks.pop(key, None)
        if target is None:
            return None
        self._send(routing.webhook(target, signal))
        return str(target["jid"])

    def _send(self, msg: NewMessage) -> None:
        due = self.now + timedelta(seconds=max(msg.delay, 0))
        heapq.heappush(self._queue, (due, -msg.priority, next(self._order), msg))
