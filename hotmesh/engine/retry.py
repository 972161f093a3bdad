"""Retry policies for worker errors: pure decisions, no I/O.

Two layers, as upstream:

* the YAML ``retry: {'<code>': [n]}`` policy of an activity: up to ``n``
  retries (at most 3) after 10, 100 and 1,000 ms;
* a structured :class:`RetryPolicy`, given per worker in ``HotMesh.init`` or
  carried by the work message (MemFlow activities): attempt ``k + 1`` waits
  ``min(initial_interval * backoff_coefficient ** (k - 1), maximum_interval)``
  seconds after attempt ``k`` fails, up to ``maximum_attempts`` attempts in all.

Upstream waits ``initial * coefficient ** k`` (so its first retry already
waits ``initial * coefficient``); ours starts at ``initial_interval``, as
Temporal does, so the policy reads the way it is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hotmesh import errors

#: Upstream's cap on YAML retries (``HMSH_MAX_RETRIES``).
YAML_MAX_RETRIES = 3
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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Structured back-off; ``maximum_attempts`` counts the first attempt."""

    maximum_attempts: int = 3
    backoff_coefficient: float = 10.0
    initial_interval: float = 1.0
    maximum_interval: float = 120.0

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RetryPolicy:
        """From snake_case or upstream camelCase keys; durations in seconds or strings."""

        def pick(snake: str, camel: str, default: Any) -> Any:
            return options.get(snake, options.get(camel, default))

        policy = cls(
            maximum_attempts=int(pick("maximum_attempts", "maximumAttempts", 3)),
            backoff_coefficient=float(
                pick("backoff_coefficient", "backoffCoefficient", 10.0)
            ),
            initial_interval=seconds(
                pick("initial_interval", "initialInterval", 1.0), "initial_interval"
            ),
            maximum_interval=seconds(
                pick("maximum_interval", "maximumInterval", 120.0), "maximum_interval"
            ),
        )
        if policy.maximum_attempts < 1:
            raise errors.ConfigError("maximum_attempts must be at least 1")
        if policy.backoff_coefficient < 1:
            raise errors.ConfigError("backoff_coefficient must be at least 1")
        return policy

    def delay(self, attempt: int) -> float | None:
        """Seconds before attempt ``attempt + 1`` after attempt ``attempt`` (1-based)
        failed, or ``None`` when no attempt is left."""
        if attempt >= self.maximum_attempts:
            return None
        wait = self.initial_interval * self.backoff_coefficient ** (attempt - 1)
        return float(min(wait, self.maximum_interval))


def message_policy(data: Any) -> RetryPolicy | None:
    """A policy carried in a work message's data (upstream's ``_streamRetryConfig``)."""
    if not isinstance(data, dict):
        return None
    keys = (
        "maximumAttempts",
        "backoffCoefficient",
        "maximumInterval",
        "initialInterval",
    )
    if not any(k in data for k in keys):
        return None
    try:
        return RetryPolicy.from_options(data)
    except (errors.ConfigError, TypeError, ValueError):
        return None


def yaml_delay(limit: int | None, tries: int) -> float | None:
    """The YAML policy's wait before retry ``tries + 1``, or ``None`` to give up."""
    if limit is None or tries >= min(int(limit), YAML_MAX_RETRIES):
        return None
    return float(10 ** (tries + 1)) / 1000
