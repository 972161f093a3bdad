"""Durations as people write them: ``5``, ``"5s"``, ``"1.5 minutes"``, ``"30 days"``.

A neutral module (no layer above it): retry policies, MemFlow's sleeps and
timeouts, and options all read durations here.
"""

from __future__ import annotations

import re
from typing import Any

from hotmesh import errors

_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|mins?|minutes?|h|hours?|d|days?)?\s*$"
)
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(value: Any, what: str = "duration") -> float:
    """``5``, ``"5s"``, ``"1.5 minutes"``, ``"30 days"`` -> seconds."""
    if isinstance(value, bool):
        raise errors.ConfigError(f"invalid {what}: {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise errors.ConfigError(f"invalid {what}: {value!r} is negative")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value.lower())
        if match:
            number, unit = match.groups()
            key = "ms" if unit == "ms" else (unit or "s")[0]
            return float(number) * _UNIT[key]
    raise errors.ConfigError(
        f"invalid {what}: {value!r} (use seconds or a string like '30s', '5 minutes')"
    )
