"""Compiler test fixtures."""

from __future__ import annotations

import importlib

import pytest


def _has(module: str, name: str) -> bool:
    try:
        return hasattr(importlib.import_module(f"hotmesh.{module}"), name)
    except ImportError:
        return False


@pytest.fixture(autouse=True)
def _stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """THROWAWAY: use tests/unit/compiler/_stubs.py while graph/expr are missing."""
    from tests.unit.compiler import _stubs

    if not _has("graph", "load_app"):
        monkeypatch.setattr("hotmesh.graph.load_app", _stubs.load_app, raising=False)
    if not _has("expr", "compile"):
        monkeypatch.setattr("hotmesh.expr.compile", _stubs.compile, raising=False)
        monkeypatch.setattr(
            "hotmesh.expr.compile_map", _stubs.compile_map, raising=False
        )
