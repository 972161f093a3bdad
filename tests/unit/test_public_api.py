"""The public surface is pinned: additions and removals are deliberate."""

from __future__ import annotations

import hotmesh
from hotmesh import compiler, expr, graph


def test_top_level_exports() -> None:
    assert set(hotmesh.__all__) == {"HotMesh", "MemFlow", "errors"}


def test_layer_exports() -> None:
    assert {"load_app", "Manifest", "Location"} <= set(graph.__all__)
    assert set(expr.__all__) == {
        "UNDEFINED",
        "MapRule",
        "Rule",
        "compile",
        "compile_map",
        "resolve",
    }
    assert {
        "Plan",
        "compile_app",
        "compile_source",
        "validate",
        "plan_to_document",
        "plan_from_document",
    } <= set(compiler.__all__)


def test_every_error_is_a_hotmesh_error() -> None:
    errors = hotmesh.errors
    classes = [
        v
        for v in vars(errors).values()
        if isinstance(v, type) and issubclass(v, Exception)
    ]
    assert len(classes) > 10
    for cls in classes:
        assert issubclass(cls, errors.HotMeshError), cls
