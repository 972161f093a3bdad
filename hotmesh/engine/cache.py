"""Job states this process wrote last: the base of optimistic steps.

After a step commits, the engine knows the job exactly as the database holds
it, and the row's version (``xmin``). The next step of that job here starts
from this state and writes in one statement guarded by the version, instead
of locking and re-reading the job first; a stale entry costs one fallback
to the locking path, never a wrong write.
"""

from __future__ import annotations

from collections import OrderedDict

from hotmesh.engine.commit import StepCommit, advance
from hotmesh.store.records import JobRow


class StateCache:
    """Least-recently-written job states, at most ``size`` of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._jobs: OrderedDict[str, tuple[JobRow, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: str) -> tuple[JobRow, str] | None:
        """The cached job and its row version, or ``None``."""
        return self._jobs.get(job_id)

    def drop(self, job_id: str) -> None:
        """Forget a job (its state may have changed elsewhere)."""
        self._jobs.pop(job_id, None)

    def remember(
        self,
        commit: StepCommit,
        version: str,
        status: int | None = None,
        pk: int | None = None,
    ) -> None:
        """The job after ``commit``, written at row ``version`` with semaphore
        ``status`` and key ``pk`` (as the write returned them; by default the
        job's own); a finished job is forgotten: nothing more will step it."""
        job = commit.job
        if self.size <= 0 or not version or commit.completion is not None:
            self.drop(job.job_id)
            return
        # commit.job holds the rows before the step
        state = advance(job, commit, job.status if status is None else status, pk)
        self._jobs[job.job_id] = (state, version)
        self._jobs.move_to_end(job.job_id)
        while len(self._jobs) > self.size:
            self._jobs.popitem(last=False)
