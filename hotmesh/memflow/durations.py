"""Durations as MemFlow accepts them: seconds, or text such as ``"30 days"``, ``"1s"``."""

from __future__ import annotations

import re

_UNITS = {
    "ms": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def seconds(value: float | int | str) -> float:
    """``value`` in seconds: a number is seconds; text is ``<n> <unit>`` parts summed."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"negative duration: {value!r}")
        return float(value)
    text = str(value).strip()
    total, pos = 0.0, 0
    if not text:
        raise ValueError("empty duration")
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"not a duration: {value!r}")
        number, unit = match.groups()
        factor = _UNITS.get(unit.lower() or "s")
        if factor is None:
            raise ValueError(f"unknown duration unit {unit!r} in {value!r}")
        total += float(number) * factor
        pos = match.end()
    return total
