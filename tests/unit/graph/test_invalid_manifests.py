"""Each load-level broken manifest (01-19) fails with exactly its golden lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotmesh.errors import ManifestError
from hotmesh.graph import load_app

ROOT = Path(__file__).resolve().parents[3]
CASES = sorted(p for p in (ROOT / "graphs/invalid").glob("[01]*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_invalid_manifest_matches_golden(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    relative = str(path.relative_to(ROOT))
    with pytest.raises(ManifestError) as info:
        load_app(relative)
    golden = (
        (ROOT / "tests/golden/invalid" / f"{path.stem}.txt").read_text().splitlines()
    )
    assert [str(p) for p in info.value.problems] == golden
