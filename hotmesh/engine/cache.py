"""Job states this process wrote last: the base of optimistic steps.

After a step commits, the engine knows the job exactly as the database holds
it, and the row's version (``xmin``). The next step of that job here starts
from this state and writes in one statement guarded by the version, instead
of locking and re-reading the job first; a stale entry costs one fallback
to the locking path, never a wrong write.

Jobs with work on their way are kept (up to ``size``). A job left asleep or
waiting on a hook, a child or an answer (nothing due now will step it) is
kept only among the ``waiting`` most recently written such jobs (default
256), so 100,000 waiting jobs cost this process a constant 256 states, not
one each (issue 21). The recent ones are kept because a job that has just
started to wait is the one most likely to be woken soon (a signal, an update,
a short sleep): its resume is then one statement, not the locking path
(without them an update round trip took 16-19 ms p50 instead of 11 ms).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from hotmesh.engine.commit import StepCommit, advance
from hotmesh.engine.waiting import WAITING_FOR_ANSWER, activity_state
from hotmesh.store.records import JobRow, NewMessage


def moving(job_id: str, messages: Sequence[NewMessage]) -> bool:
    """A message due now will step ``job_id`` (its work, a deferred leg):
    the job is not waiting. A child's start (``await``) does not count: the
    child may wait for a long time."""
    for msg in messages:
        if msg.delay <= 0 and msg.job_id == job_id and msg.type != "await":
            return True
    return False


def waiting(state: JobRow) -> bool:
    """No worker of ``state`` owes it an answer that is on its way: what is
    open waits on a timer, a signal, a child or ``hm.add`` (pure)."""
    for row in state.activities:
        if row.type == "worker" and not row.done and not row.error:
            if activity_state(row) != WAITING_FOR_ANSWER:
                return False
    return True


#: waiting jobs kept, most recently written first (see the module's docstring)
WAITING_KEPT = 256


class StateCache:
    """Least-recently-written job states: at most ``size`` with work on their
    way, and at most ``waiting`` (never more than ``size``) merely waiting."""

    def __init__(self, size: int, waiting: int = WAITING_KEPT) -> None:
        self.size = size
        self.waiting_size = max(0, min(waiting, size))
        self._jobs: OrderedDict[str, tuple[JobRow, str]] = OrderedDict()
        self._waiting: OrderedDict[str, tuple[JobRow, str]] = OrderedDict()

    def __len__(self) -> int:
        """Jobs kept with work on their way."""
        return len(self._jobs)

    def drop_waiting(self) -> None:
        """Forget every waiting job kept."""
        self._waiting.clear()

    def waiting_count(self) -> int:
        """Waiting jobs kept (at most ``waiting_size``, however many wait)."""
        return len(self._waiting)

    def get(self, job_id: str) -> tuple[JobRow, str] | None:
        """The cached job and its row version, or ``None``."""
        return self._jobs.get(job_id) or self._waiting.get(job_id)

    def drop(self, job_id: str) -> None:
        """Forget a job (its state may have changed elsewhere)."""
        self._jobs.pop(job_id, None)
        self._waiting.pop(job_id, None)

    def remember(
        self,
        commit: StepCommit,
        version: str,
        status: int | None = None,
        pk: int | None = None,
        messages: Sequence[NewMessage] | None = None,
    ) -> None:
        """The job after ``commit``, written at row ``version`` with semaphore
        ``status`` and key ``pk`` (as the write returned them; by default the
        job's own), which sent ``messages`` (by default the step's); a
        finished job is forgotten, a waiting one kept only among the most
        recent waiting ones."""
        job = commit.job
        if self.size <= 0 or not version or commit.completion is not None:
            self.drop(job.job_id)
            return
        # commit.job holds the rows before the step
        state = advance(job, commit, job.status if status is None else status, pk)
        sent = commit.messages if messages is None else messages
        if not moving(job.job_id, sent) and waiting(state):
            self._jobs.pop(job.job_id, None)
            if self.waiting_size:
                self._waiting[job.job_id] = (state, version)
                self._waiting.move_to_end(job.job_id)
                while len(self._waiting) > self.waiting_size:
                    self._waiting.popitem(last=False)
            return
        self._waiting.pop(job.job_id, None)
        self._jobs[job.job_id] = (state, version)
        self._jobs.move_to_end(job.job_id)
        while len(self._jobs) > self.size:
            self._jobs.popitem(last=False)
