"""Golden test: every broken manifest under graphs/invalid/ reports exactly its golden lines.

``validate(path)`` runs with the repo root as the working directory, so paths
in the goldens are repo-relative (``graphs/invalid/20-....yaml:19:9: ...``).
Goldens live in ``tests/golden/invalid/<name>.txt``, one ``str(problem)`` per
line. Manifests 01-19 (loader and schema problems) and their goldens belong to
the graph layer; 20 and up (semantic problems) to the compiler. After an
intended message change, regenerate the compiler's goldens with::

    HOTMESH_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/compiler/test_invalid_manifests.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hotmesh import compiler

ROOT = Path(__file__).resolve().parents[3]
INVALID = sorted((ROOT / "graphs" / "invalid").glob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "invalid"
UPDATE = os.environ.get("HOTMESH_UPDATE_GOLDEN") == "1"


def test_there_are_semantic_broken_manifests() -> None:
    semantic = [p for p in INVALID if int(p.name[:2]) >= 20]
    assert len(semantic) >= 16


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_broken_manifest_matches_golden(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    problems = compiler.validate(path.relative_to(ROOT))
    rendered = "".join(f"{p}\n" for p in problems)
    golden = GOLDEN / f"{path.stem}.txt"
    if UPDATE and int(path.name[:2]) >= 20:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), (
        f"{path.relative_to(ROOT)} has no golden {golden.relative_to(ROOT)}: every broken"
        " manifest needs the exact validate() output beside it"
    )
    assert rendered == golden.read_text(encoding="utf-8")
    assert any(p.severity == "error" for p in problems), (
        "a broken manifest must have an error"
    )
