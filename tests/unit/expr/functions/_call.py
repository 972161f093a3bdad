"""Helpers for function tests: call a catalogue function by name."""

from __future__ import annotations

import math
from typing import Any

from hotmesh.expr.functions import registry


def call(name: str, *args: Any) -> Any:
    """Call ``@name`` with positional arguments, exactly as a pipe row would."""
    spec = registry.lookup(name)
    assert spec is not None, f"@{name} is not registered"
    from hotmesh.expr.evaluate import call as evaluate_call

    return evaluate_call(name, list(args))


def same(a: Any, b: Any) -> bool:
    """Equality that treats NaN as equal to NaN and keeps int/float/bool apart."""
    if (
        isinstance(a, float)
        and isinstance(b, float)
        and math.isnan(a)
        and math.isnan(b)
    ):
        return True
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b) and type(a) is type(b)
