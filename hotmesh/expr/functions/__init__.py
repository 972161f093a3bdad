"""The @pipe function catalogue, one module per namespace, plus the registry."""

from __future__ import annotations

from hotmesh.expr.functions.registry import (
    REGISTRY,
    FunctionSpec,
    lookup,
    names,
    register,
)

__all__ = ["REGISTRY", "FunctionSpec", "lookup", "names", "register"]
