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

from dataclasses import dataclass
from typing import Any

from hotmesh import errors
from hotmesh.durations import seconds as seconds

#: Upstream's cap on YAML retries (``HMSH_MAX_RETRIES``).
YAML_MAX_RETRIES = 3


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Structured back-off; ``maximum_attempts`` counts the first attempt.

    The one retry type: ``HotMesh`` workers' ``retry``, the policy a work
    message carries, and MemFlow's ``retry_policy`` (with its own defaults,
    :data:`MEMFLOW_RETRY`). It is read from options in one place
    (:meth:`from_options`) and written in one place (:meth:`to_options`, and
    :meth:`to_message` for a work message's camelCase form).
    """

    maximum_attempts: int = 3
    backoff_coefficient: float = 10.0
    initial_interval: float = 1.0
    maximum_interval: float = 120.0

    @classmethod
    def from_options(
        cls, options: dict[str, Any], base: RetryPolicy | None = None
    ) -> RetryPolicy:
        """From snake_case or upstream camelCase keys; durations in seconds or
        strings; a key not given keeps ``base``'s value (default: ours)."""
        base = base or cls()

        def pick(snake: str, camel: str, default: Any) -> Any:
            return options.get(snake, options.get(camel, default))

        policy = cls(
            maximum_attempts=int(
                pick("maximum_attempts", "maximumAttempts", base.maximum_attempts)
            ),
            backoff_coefficient=float(
                pick(
                    "backoff_coefficient",
                    "backoffCoefficient",
                    base.backoff_coefficient,
                )
            ),
            initial_interval=seconds(
                pick("initial_interval", "initialInterval", base.initial_interval),
                "initial_interval",
            ),
            maximum_interval=seconds(
                pick("maximum_interval", "maximumInterval", base.maximum_interval),
                "maximum_interval",
            ),
        )
        if policy.maximum_attempts < 1:
            raise errors.ConfigError("maximum_attempts must be at least 1")
        if policy.backoff_coefficient < 1:
            raise errors.ConfigError("backoff_coefficient must be at least 1")
        return policy

    def to_options(self) -> dict[str, Any]:
        """The snake_case form (MemFlow's recorded policy)."""
        return {
            "maximum_attempts": self.maximum_attempts,
            "backoff_coefficient": self.backoff_coefficient,
            "initial_interval": self.initial_interval,
            "maximum_interval": self.maximum_interval,
        }

    def to_message(self) -> dict[str, Any]:
        """The camelCase form a work message carries (upstream's names)."""
        return {
            "maximumAttempts": self.maximum_attempts,
            "backoffCoefficient": self.backoff_coefficient,
            "initialInterval": self.initial_interval,
            "maximumInterval": self.maximum_interval,
        }

    def delay(self, attempt: int) -> float | None:
        """Seconds before attempt ``attempt + 1`` after attempt ``attempt`` (1-based)
        failed, or ``None`` when no attempt is left."""
        if attempt >= self.maximum_attempts:
            return None
        wait = self.initial_interval * self.backoff_coefficient ** (attempt - 1)
        return float(min(wait, self.maximum_interval))


#: MemFlow activities' defaults: more attempts, a gentler back-off (as upstream)
MEMFLOW_RETRY = RetryPolicy(
    maximum_attempts=50,
    backoff_coefficient=5.0,
    initial_interval=1.0,
    maximum_interval=120.0,
)


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
