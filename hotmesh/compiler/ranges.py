"""Values the engine must be able to store and schedule: durations and fan-outs.

A hook ``sleep`` of ``Infinity`` or ``1e300`` cannot become a due time
(PostgreSQL's timestamps end in the year 294276), and neither can a graph
``expire`` of ``1e300``; a negative ``expire`` soft-deletes a finished job
before its caller can read it. Such values used to fail deep in the database
and leave their job retrying, then "running" for ever. A static one is refused
here, when the manifest compiles, naming ``file:line:col``; one that comes from
data fails its job at once (:mod:`hotmesh.engine.guards`).

A step that fans out to thousands of children holds the event loop while it
runs them; ``max_branches`` (``ManifestLimits``) caps the transitions out of
one activity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hotmesh.compiler.report import Reporter
from hotmesh.compiler.structure import pointer

if TYPE_CHECKING:
    from hotmesh.compiler.structure import ActivityInfo, GraphInfo

#: The longest duration a sleep, expire or delay may have: 100 years, in seconds.
MAX_DURATION = 100 * 365.25 * 86400


def is_number(value: Any) -> bool:
    """A JSON number (booleans are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def duration_problem(value: Any, *, negative: str | None) -> str | None:
    """Why ``value`` (a number of seconds) cannot be scheduled, or None.

    ``negative`` says what a negative value means (``None``: it is refused).
    Non-numbers and NaN are not durations and pass (a sleep of ``null`` is a
    passthrough, as upstream).
    """
    if not is_number(value) or (isinstance(value, float) and math.isnan(value)):
        return None
    if value > MAX_DURATION:
        shown = "Infinity" if value == math.inf else f"{value:g}"
        return (
            f"is {shown} seconds; at most {MAX_DURATION:,.0f} (100 years) can be "
            "scheduled"
        )
    if value < 0 and negative is None:
        shown = "-Infinity" if value == -math.inf else f"{value:g}"
        return f"is {shown} seconds; it must be 0 or more"
    return None


def _static(config: Mapping[str, Any], key: str) -> Any:
    value = config.get(key)
    return value if is_number(value) else None


def check_ranges(
    graphs: list[GraphInfo],
    activities: Mapping[str, ActivityInfo],
    report: Reporter,
    max_branches: int,
) -> None:
    """Report static durations out of range and fan-outs over ``max_branches``."""
    for info in graphs:
        problem = duration_problem(_static(info.config, "expire"), negative=None)
        if problem is not None:
            report(info.pointer + pointer("expire"), f"expire {problem}")
    for aid, act in activities.items():
        config = act.config
        if act.type == "hook":
            problem = duration_problem(_static(config, "sleep"), negative="no sleep")
            if problem is not None:
                report(act.pointer + pointer("sleep"), f"sleep {problem}")
        if act.type == "interrupt":
            problem = duration_problem(_static(config, "expire"), negative=None)
            if problem is not None:
                report(act.pointer + pointer("expire"), f"expire {problem}")
        if len(act.edges) > max_branches:
            report(
                pointer("app", "graphs", act.graph, "transitions", aid),
                f"activity '{aid}' fans out to {len(act.edges):,} transitions; at "
                f"most {max_branches:,} (ManifestLimits.max_branches) run from one "
                "activity",
            )
