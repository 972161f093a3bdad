"""What tracing and metrics share: the optional API, our version, stamps, codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from typing import Any

try:  # the ``otel`` extra
    from opentelemetry import metrics as metrics
    from opentelemetry import trace as trace
except ImportError:  # pragma: no cover - exercised when the extra is absent
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


def stamp_ns(stamp: Any) -> int | None:
    """Epoch ns of a compact ``YYYYMMDDHHMMSS.mmm`` stamp."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.strptime(stamp, "%Y%m%d%H%M%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000) * 1_000_000


def error_code(err: Any) -> tuple[str, str]:
    """The code and message of a job's ``err`` (its JSON string)."""
    try:
        body = json.loads(err) if isinstance(err, str) else err
    except ValueError:
        return "500", str(err)
    if not isinstance(body, dict):
        return "500", str(err)
    return str(body.get("code", 500)), str(body.get("message", ""))
