"""@cron: delays from cron expressions (parsed by croniter)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from croniter import croniter

from hotmesh import errors
from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED

#: The shortest delay nextDelay returns: our timers have sub-second precision,
#: so upstream's 5-second fidelity floor shrinks to 1 second.
MIN_DELAY_SECONDS = 1


@register(
    "cron.nextDelay",
    (1, 1),
    "Seconds from now to the next UTC occurrence (at least 1); -1 when not a string.",
    note="The floor is 1 s (upstream: 5 s), since timers here wake without slots.",
    pure=False,
)
def next_delay(expression: Any = UNDEFINED) -> int:
    if not isinstance(expression, str):
        return -1
    now = dt.datetime.now(dt.UTC)
    try:
        following = croniter(expression, now).get_next(dt.datetime)
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.EvaluationError(
            f"@cron.nextDelay: invalid cron expression {expression!r}: {exc}"
        ) from None
    seconds = (following - now).total_seconds()
    return max(MIN_DELAY_SECONDS, math.ceil(seconds) if seconds % 1 else int(seconds))
