"""When a consumer must claim next: the earliest announced due times (pure).

Each delayed message (a sleep, a retry's backoff, a delayed start) announces
when it becomes visible, to every process. Kept as one timer each, 100,000
sleeping jobs cost 100,000 timers in every process (issue 21). Only the
earliest ``size`` distinct times are kept; when a later one is left out, the
consumer asks the database for the next due time once the kept ones passed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

#: due times kept per consumer
SIZE = 64
#: a time this close after one already kept rides on it (seconds)
SLACK = 0.005


class Wakeups:
    """The next due times of one stream (event loop time), earliest first."""

    def __init__(self, size: int = SIZE, slack: float = SLACK) -> None:
        self.size, self.slack = size, slack
        self._times: list[float] = []
        #: a due time was left out (or may exist unannounced): once the kept
        #: ones passed, the database says what comes next
        self.unknown = False

    def __len__(self) -> int:
        return len(self._times)

    def add(self, at: float) -> bool:
        """Keep ``at``; ``True`` when it is now the earliest (arm its timer)."""
        times = self._times
        i = bisect_left(times, at)
        if i < len(times) and times[i] - at <= self.slack:
            return False  # one kept fires at most ``slack`` later
        if i >= self.size:
            self.unknown = True
            return False
        insort(times, at)
        if len(times) > self.size:
            times.pop()
            self.unknown = True
        return i == 0

    def next(self) -> float | None:
        """The earliest kept time, if any."""
        return self._times[0] if self._times else None

    def passed(self, now: float) -> bool:
        """Forget the times up to ``now``; ``True`` when none is left but
        others may exist (ask the database: ``unknown`` is reset)."""
        times = self._times
        del times[: bisect_right(times, now)]
        if times or not self.unknown:
            return False
        self.unknown = False
        return True

    def clear(self) -> None:
        self._times.clear()
        self.unknown = False
