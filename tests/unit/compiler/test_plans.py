"""Every example and upstream manifest compiles; plan documents round-trip and match goldens.

Regenerate the golden plans after an intended change with::

    HOTMESH_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/compiler/test_plans.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hotmesh import compiler
from hotmesh.errors import CompileError
from tests.conformance import OWN
from tests.upstream import SETUP as UPSTREAM
from tests.upstream import corrected, requires_upstream

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden" / "plans"
UPDATE = os.environ.get("HOTMESH_UPDATE_GOLDEN") == "1"

EXAMPLES = sorted((ROOT / "graphs").glob("*.yaml"))
OWN_APPS = [*sorted(OWN.glob("apps/**/hotmesh.yaml")), OWN / "seeds" / "hotmesh.yaml"]
UPSTREAM_APPS = [
    *sorted(UPSTREAM.glob("apps/**/hotmesh.yaml")),
    UPSTREAM / "seeds" / "hotmesh.yaml",
    UPSTREAM / "seeds" / "codec.yaml",
]
#: golden name -> manifest (the upstream ones run only when ../shared is there)
GOLDENS = {p.stem: p for p in EXAMPLES} | {
    "conformance-abc-v9": OWN / "apps/abc/v9/hotmesh.yaml",
    "conformance-calc-v1": OWN / "apps/calc/v1/hotmesh.yaml",
    "conformance-cycle-v1": OWN / "apps/cycle/v1/hotmesh.yaml",
}
UPSTREAM_GOLDENS = {
    "upstream-abc-v9": UPSTREAM / "apps/abc/v9/hotmesh.yaml",
    "upstream-calc-v1": UPSTREAM / "apps/calc/v1/hotmesh.yaml",
    "upstream-durable-v1": UPSTREAM / "apps/durable/v1/hotmesh.yaml",
    "upstream-cycle-v1": UPSTREAM / "apps/cycle/v1/hotmesh.yaml",
}


def _name(path: Path) -> str:
    for root, prefix in ((UPSTREAM, "upstream/"), (OWN, "own/")):
        if path.is_relative_to(root):
            return prefix + str(path.relative_to(root))
    return path.name


@pytest.mark.parametrize(
    "path",
    EXAMPLES
    + OWN_APPS
    + [pytest.param(p, marks=requires_upstream) for p in UPSTREAM_APPS],
    ids=_name,
)
def test_manifest_compiles_and_round_trips(path: Path, tmp_path: Path) -> None:
    if path.is_relative_to(UPSTREAM):
        path = corrected(path, tmp_path)
    problems = compiler.validate(path)
    assert [str(p) for p in problems if p.severity == "error"] == []
    plan = compiler.compile_source(path)
    document = compiler.plan_to_document(plan)
    text = json.dumps(document)  # plain JSON all the way down
    again = compiler.plan_from_document(json.loads(text))
    assert compiler.plan_to_document(again) == document
    assert again.activities.keys() == plan.activities.keys()


@pytest.mark.parametrize(
    "name",
    sorted(GOLDENS)
    + [pytest.param(n, marks=requires_upstream) for n in sorted(UPSTREAM_GOLDENS)],
)
def test_plan_document_matches_golden(name: str) -> None:
    source = (GOLDENS | UPSTREAM_GOLDENS)[name]
    document = compiler.plan_to_document(compiler.compile_source(source))
    golden = GOLDEN / f"{name}.plan.json"
    rendered = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing; run with HOTMESH_UPDATE_GOLDEN=1"
    assert json.loads(golden.read_text(encoding="utf-8")) == document


@pytest.mark.parametrize(
    "root",
    [OWN, pytest.param(UPSTREAM, marks=requires_upstream)],
    ids=["own", "upstream"],
)
def test_calc_multi_file_refs_are_compiled(root: Path) -> None:
    plan = compiler.compile_source(root / "apps/calc/v1/hotmesh.yaml")
    assert {g.subscribes for g in plan.graphs} >= {"calculate", "calculation.execute"}
    assert any(a.retry for a in plan.activities.values())


@pytest.mark.parametrize("fmt", [None, 0, 2, "1"])
def test_unknown_plan_format_is_refused(fmt: object) -> None:
    with pytest.raises(CompileError, match="format"):
        compiler.plan_from_document({"format": fmt})


def test_malformed_plan_document_is_a_compile_error() -> None:
    with pytest.raises(CompileError, match="malformed"):
        compiler.plan_from_document({"format": 1, "app": {"id": "x"}})
    document = compiler.plan_to_document(
        compiler.compile_source(ROOT / "graphs" / "hello.yaml")
    )
    document["activities"]["greet"]["config"]["job"]["maps"]["greeting"] = (
        "{ghost.output.data.x}"
    )
    with pytest.raises(CompileError, match="ghost"):
        compiler.plan_from_document(document)
