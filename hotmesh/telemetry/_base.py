"""What tracing and metrics share: the optional API, our version, stamps, codes."""

from __future__ import annotations

import calendar
import json
from importlib import metadata as package_metadata
from typing import Any

try:  # the ``otel`` extra
    from opentelemetry import context as context
    from opentelemetry import metrics as metrics
    from opentelemetry import trace as trace
except ImportError:  # pragma: no cover - exercised when the extra is absent
    context = None  # type: ignore[assignment]
    trace = None  # type: ignore[assignment]
    metrics = None  # type: ignore[assignment]

try:  # the instrumenting library's version, as OpenTelemetry asks
    VERSION: str | None = package_metadata.version("hotmesh")
except (
    package_metadata.PackageNotFoundError
):  # pragma: no cover - run from a bare checkout
    VERSION = None

#: seconds an unset provider is believed unset before asking again
RECHECK = 1.0


#: epoch seconds by a stamp's first 14 characters: a step's stamps share
#: their second, and each is read for a span and for a measure (cleared when full)
_SECONDS: dict[str, int] = {}


def stamp_ns(stamp: Any) -> int | None:
    """Epoch ns of a compact ``YYYYMMDDHHMMSS.mmm`` stamp (parsed by hand:
    ``strptime`` cost several µs per stamp, four stamps per activity)."""
    if not isinstance(stamp, str) or len(stamp) != 18 or stamp[14] != ".":
        return None
    head = stamp[:14]
    seconds = _SECONDS.get(head)
    try:
        if seconds is None:
            seconds = calendar.timegm(
                (
                    int(stamp[0:4]),
                    int(stamp[4:6]),
                    int(stamp[6:8]),
                    int(stamp[8:10]),
                    int(stamp[10:12]),
                    int(stamp[12:14]),
                    0,
                    0,
                    0,
                )
            )
            if len(_SECONDS) >= 1024:
                _SECONDS.clear()
            _SECONDS[head] = seconds
        return (seconds * 1000 + int(stamp[15:18])) * 1_000_000
    except ValueError:
        return None


def error_code(err: Any) -> tuple[str, str]:
    """The code and message of a job's ``err`` (its JSON string)."""
    try:
        body = json.loads(err) if isinstance(err, str) else err
    except ValueError:
        return "500", str(err)
    if not isinstance(body, dict):
        return "500", str(err)
    return str(body.get("code", 500)), str(body.get("message", ""))
