"""Compile a loaded manifest into an immutable Plan, and check it semantically."""

from __future__ import annotations

from hotmesh.compiler.checks import (
    check_app,
    compile_app,
    compile_checked,
    compile_source,
    validate,
)
from hotmesh.compiler.plan import (
    PLAN_FORMAT,
    ActivityPlan,
    GraphPlan,
    HookRule,
    Match,
    Plan,
    Transition,
)
from hotmesh.compiler.serialize import plan_from_document, plan_to_document

__all__ = [
    "PLAN_FORMAT",
    "ActivityPlan",
    "GraphPlan",
    "HookRule",
    "Match",
    "Plan",
    "Transition",
    "check_app",
    "compile_app",
    "compile_checked",
    "compile_source",
    "plan_from_document",
    "plan_to_document",
    "validate",
]
