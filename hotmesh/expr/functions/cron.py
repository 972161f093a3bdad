"""@cron: delays from cron expressions (parsed by croniter).

Six-field expressions put seconds first, as upstream's cron-parser does
(croniter's default is seconds last).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from croniter import croniter

from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED

#: The shortest delay nextDelay returns: our timers have sub-second precision,
#: so upstream's 5-second fidelity floor shrinks to 1 second.
MIN_DELAY_SECONDS = 1


@register(
    "cron.nextDelay",
    (1, 1),
    "Seconds from now to the next UTC occurrence (at least 1); -1 when the "
    "expression is not a string, is invalid, or has no next occurrence.",
    note="The floor is 1 s (upstream: 5 s), since timers here wake without slots; "
    "fractional seconds round up so the timer never fires before the occurrence.",
    pure=False,
)
def next_delay(expression: Any = UNDEFINED) -> int:
    return delay_from(expression, dt.datetime.now(dt.UTC))


def delay_from(expression: Any, now: dt.datetime) -> int:
    """Whole seconds from ``now`` (aware, UTC) to the next occurrence of ``expression``.

    -1, never an error, when there is none: not a string, not a valid
    expression, or no date matches (``0 0 30 2 *``). Upstream answers -1 too,
    so a ``sleep`` mapped from it passes through instead of failing the job.
    """
    if not isinstance(expression, str):
        return -1
    try:
        following = croniter(expression, now, second_at_beginning=True).get_next(
            dt.datetime
        )
    except (ValueError, KeyError, TypeError, OverflowError):
        return -1
    seconds = (following - now).total_seconds()
    return max(MIN_DELAY_SECONDS, math.ceil(seconds))
