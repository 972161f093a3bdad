"""Where upstream HotMesh's test manifests live: ``shared/`` beside the checkout.

They are an extra tier: a user's clone has no ``../shared``, so every test that
reads them is skipped (``requires_upstream``, or the ``upstream_apps`` fixture)
with a reason naming the folder. The project's own manifests, which always
run, are under ``tests/conformance``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: upstream's ``tests/$setup`` (app manifests used as conformance vectors)
SETUP = ROOT.parent / "shared" / "hotmesh-tests" / "tests" / "$setup"
#: whether the upstream tier can run here
AVAILABLE = SETUP.is_dir()
#: why it is skipped when it cannot
REASON = (
    f"upstream HotMesh manifests not found: {SETUP} is absent "
    "(../shared/hotmesh-tests beside the checkout; CI only)"
)
#: mark a test (or a module, as ``pytestmark``) that reads upstream's manifests
requires_upstream = pytest.mark.skipif(not AVAILABLE, reason=REASON)

#: Upstream manifests with a misspelt key, which hotmesh refuses ("did you
#: mean"; docs/reference/schema.md): file under SETUP -> {typo: meant}.
TYPOS = {"seeds/graphs/sleep.do.yaml": {"inputs": "input", "outputs": "output"}}


def corrected(manifest: Path, into: Path) -> Path:
    """``manifest`` copied (with its folder) under ``into``, upstream's typos fixed."""
    folder = manifest.parent
    shutil.copytree(folder, into / folder.name, dirs_exist_ok=True)
    for rel, keys in TYPOS.items():
        original = SETUP / rel
        if original.is_relative_to(folder):
            copy = into / folder.name / original.relative_to(folder)
            text = copy.read_text(encoding="utf-8")
            for typo, meant in keys.items():
                text = re.sub(rf"^{typo}:", f"{meant}:", text, flags=re.M)
            copy.write_text(text, encoding="utf-8")
    return into / folder.name / manifest.name


def corrected_document(document: Any) -> Any:
    """An upstream dereferenced document with the keys of ``TYPOS`` renamed."""
    renames = {k: v for keys in TYPOS.values() for k, v in keys.items()}
    for graph in document["app"]["graphs"]:
        for typo, meant in renames.items():
            if typo in graph:
                graph[meant] = graph.pop(typo)
    return document
