"""Turn the read-only values a Plan holds back into plain JSON values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def thaw(value: Any) -> Any:
    """Deep copy of ``value`` with read-only mappings and tuples made JSON-able."""
    if isinstance(value, Mapping):
        return {str(k): thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value
