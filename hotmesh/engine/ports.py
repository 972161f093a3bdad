"""What the engine needs of a store: the verbs it calls, as protocols.

The engine shell (``base``, ``effects``, ``batcher``, ``children``,
``engine``, ``router``) is typed against these, not against
``PostgresStore``; mypy checks that ``PostgresStore`` and ``StoreTx`` provide
them wherever one is passed in (``HotMesh`` does). Another store (an
in-memory one for tests) implements the same two protocols.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from hotmesh.store.records import Claimed, JobRow, Message, NewMessage
from hotmesh.store.signals import KeepRules, Taken
from hotmesh.store.tx import JobCreated, StepWrite, StepWritten


class SignalLookup(Protocol):
    """The signal-key reads the engine makes inside a transaction."""

    async def job(self, app_id: str, job_id: str) -> tuple[int, bool] | None:
        """``(row id, finished)`` of a job; ``None`` if it does not exist."""


class Transaction(Protocol):
    """The verbs of one open transaction (one engine step)."""

    @property
    def signals(self) -> SignalLookup:
        """Signal-key reads in this transaction."""

    async def get_plan(self, app_id: str, version: str) -> dict[str, Any] | None:
        """The stored plan document of an app version."""

    async def create_job(self, w: StepWrite) -> JobCreated:
        """Insert a new job with its first step; ``None`` pk for a live duplicate."""

    async def write_step(self, w: StepWrite) -> StepWritten:
        """Write a step of a locked job: new status, reserved messages, row version."""

    async def write_step_cas(
        self, w: StepWrite, message_ids: Sequence[int], owner: str, version: str
    ) -> StepWritten:
        """Write a step from cached state, acking its messages, if still at ``version``."""

    async def ack(self, message_id: int, owner: str) -> bool:
        """Delete a message we hold."""

    async def ack_and_lock(
        self, app_id: str, job_id: str, message_id: int, owner: str
    ) -> JobRow | None:
        """Ack one message and lock its job."""

    async def ack_and_lock_many(
        self, app_id: str, job_id: str, message_ids: Sequence[int], owner: str
    ) -> tuple[JobRow | None, set[int]]:
        """Ack messages of one job and lock it (a group commit)."""

    async def lock_job(self, app_id: str, job_id: str) -> JobRow | None:
        """Lock a live job and read it."""

    async def insert_messages(
        self, app_id: str, messages: Sequence[NewMessage], lease: float = 30.0
    ) -> list[Message]:
        """Insert messages (reserved for their ``reserved_by`` when set)."""

    async def notify(self, channel: str, payloads: Sequence[str]) -> None:
        """NOTIFY on commit."""

    async def dedupe(self, app_id: str, key: str, job_id: str, window: float) -> str:
        """Take a dedupe key; the holder's job id."""

    async def link_rerun(self, app_id: str, job_id: str, rerun_of: str) -> None:
        """Record that a job written in this transaction re-runs another."""

    async def register_hook(
        self, app_id: str, key: str, job_pk: int, target: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Register a waiting hook; the signals kept for its key."""

    async def unregister_hooks(
        self, app_id: str, keys: Sequence[str], job_pk: int
    ) -> None:
        """Remove a job's hook registrations."""

    async def take_signal(
        self, app_id: str, key: str, signal: dict[str, Any], keep: KeepRules
    ) -> Taken:
        """Hand a signal to the hook waiting on ``key``, or keep it."""

    async def add_facets(
        self, app_id: str, job_pk: int, job_id: str, facets: Sequence[str]
    ) -> None:
        """Index a job under facets."""

    async def facet_jobs(self, app_id: str, facet: str, scrub: bool) -> list[str]:
        """Running jobs indexed under a facet."""

    async def open_escalation(
        self, app_id: str, job_id: str, row: dict[str, Any]
    ) -> None:
        """Open a human-in-the-loop row."""

    async def close_escalation(
        self, app_id: str, topic: str, key: str, status: str
    ) -> None:
        """Close a pending escalation."""

    async def cancel_escalations(self, app_id: str, job_id: str) -> None:
        """Cancel a job's pending escalations."""

    async def resolve_escalation(
        self, app_id: str, escalation_id: str, payload: dict[str, Any]
    ) -> tuple[str, str] | None:
        """Resolve a pending escalation; its topic and key."""

    async def active_children(self, app_id: str, job_id: str) -> list[str]:
        """Running child jobs."""

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        """A savepoint inside the transaction."""


class Store(Protocol):
    """The verbs the engine calls outside a transaction."""

    @property
    def channel(self) -> str:
        """The NOTIFY channel of this store's schema."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """One transaction (driver errors translated, see ``store.faults``)."""

    async def get_plan(self, app_id: str, version: str) -> dict[str, Any] | None:
        """The stored plan document of an app version."""

    async def active_version(self, app_id: str) -> str | None:
        """The app's active version."""

    async def create_job(self, w: StepWrite) -> JobCreated:
        """A new job in one autocommitted statement."""

    async def write_step_cas(
        self, w: StepWrite, message_ids: Sequence[int], owner: str, version: str
    ) -> StepWritten:
        """A step from cached state in one autocommitted statement."""

    async def ack(self, message_id: int, owner: str) -> bool:
        """Delete a message we hold, outside any step."""

    async def ack_waiting(
        self,
        message_id: int,
        owner: str,
        app_id: str,
        job_id: str,
        activity_id: str,
        dimension: str,
        topic: str,
    ) -> bool:
        """Ack a worker message answered with ``None`` and mark its activity as
        waiting for an answer (``hm.add``)."""

    async def read_job(
        self,
        app_id: str,
        job_id: str,
        with_activities: bool = False,
        include_expired: bool = False,
    ) -> JobRow | None:
        """A job row."""

    async def claim(
        self, app_id: str, stream: str, owner: str, lease: float, limit: int
    ) -> Claimed:
        """Reserve visible messages of a stream."""

    async def next_due(self, app_id: str, stream: str, limit: int) -> list[float]:
        """Seconds until each of the next ``limit`` distinct times at which
        messages of a stream become visible, earliest first."""

    async def extend_leases(
        self, message_ids: Sequence[int], owner: str, lease: float
    ) -> None:
        """Extend claims we hold (the heartbeat)."""

    async def renew_claims(
        self, message_ids: Sequence[int], owner: str, lease: float
    ) -> set[int]:
        """``extend_leases``, returning the ids ``owner`` still holds."""
