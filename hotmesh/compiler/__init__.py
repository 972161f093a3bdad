"""Compile a loaded manifest into an immutable Plan, and check it semantically."""

from __future__ import annotations

from hotmesh.compiler.plan import (
    PLAN_FORMAT,
    ActivityPlan,
    GraphPlan,
    HookRule,
    Match,
    Plan,
    Transition,
)

__all__ = [
    "PLAN_FORMAT",
    "ActivityPlan",
    "GraphPlan",
    "HookRule",
    "Match",
    "Plan",
    "Transition",
]
