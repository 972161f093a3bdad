"""Schedules: cron and interval jobs that every process fires, each tick once.

``spec`` validates options (pure), ``timing`` computes ticks and what a pass
does (pure), ``service`` is ``hm.schedules`` and the firing loop (I/O).
"""

from __future__ import annotations

from hotmesh.schedules.service import Schedules
from hotmesh.schedules.spec import ScheduleSpec, build

__all__ = ["ScheduleSpec", "Schedules", "build"]
