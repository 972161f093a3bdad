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

Two sets of defaults, as upstream, both defined here: :data:`HOTMESH_RETRY`
(a ``HotMesh`` worker's ``retry``: 3 attempts, x10, 1 s, 120 s) and
:data:`MEMFLOW_RETRY` (MemFlow activities and workflows: 50 attempts, x5,
1 s, 120 s). The key names, in both spellings, are :data:`RETRY_KEYS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotmesh import errors
from hotmesh.durations import seconds as seconds

#: Upstream's cap on YAML retries (``HMSH_MAX_RETRIES``).
YAML_MAX_RETRIES = 3
#: each setting's snake_case name and upstream's camelCase one
NAMES = {
    "maximum_attempts": "maximumAttempts",
    "backoff_coefficient": "backoffCoefficient",
    "initial_interval": "initialInterval",
    "maximum_interval": "maximumInterval",
}
#: every key a policy may be given with (``check_keys`` of its readers)
RETRY_KEYS = (*NAMES, *NAMES.values())


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

        def pick(name: str) -> Any:
            return options.get(name, options.get(NAMES[name], getattr(base, name)))

        policy = cls(
            maximum_attempts=int(pick("maximum_attempts")),
            backoff_coefficient=float(pick("backoff_coefficient")),
            initial_interval=seconds(pick("initial_interval"), "initial_interval"),
            maximum_interval=seconds(pick("maximum_interval"), "maximum_interval"),
        )
        if policy.maximum_attempts < 1:
            raise errors.ConfigError("maximum_attempts must be at least 1")
        if policy.backoff_coefficient < 1:
            raise errors.ConfigError("backoff_coefficient must be at least 1")
        return policy

    def to_options(self) -> dict[str, Any]:
        """The snake_case form (MemFlow's recorded policy, and the keys its
        graph passes on in a work message)."""
        return {name: getattr(self, name) for name in NAMES}

    def to_message(self) -> dict[str, Any]:
        """The camelCase form (upstream's names in a work message)."""
        return {camel: getattr(self, name) for name, camel in NAMES.items()}

    def delay(self, attempt: int) -> float | None:
        """Seconds before attempt ``attempt + 1`` after attempt ``attempt`` (1-based)
        failed, or ``None`` when no attempt is left."""
        if attempt >= self.maximum_attempts:
            return None
        wait = self.initial_interval * self.backoff_coefficient ** (attempt - 1)
        return float(min(wait, self.maximum_interval))


#: a ``HotMesh`` worker's defaults (a ``retry`` given with some keys only)
HOTMESH_RETRY = RetryPolicy()
#: MemFlow's defaults: more attempts, a gentler back-off (as upstream)
MEMFLOW_RETRY = RetryPolicy(
    maximum_attempts=50,
    backoff_coefficient=5.0,
    initial_interval=1.0,
    maximum_interval=120.0,
)


def message_policy(data: Any) -> RetryPolicy | None:
    """A policy carried in a work message's data (upstream's ``_streamRetryConfig``),
    in either spelling; a key not given has :data:`HOTMESH_RETRY`'s value."""
    if not isinstance(data, dict):
        return None
    if not any(k in data for k in RETRY_KEYS):
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
