"""Where upstream HotMesh's test manifests live: ``shared/`` beside the checkout."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: upstream's ``tests/$setup`` (app manifests used as conformance vectors)
SETUP = ROOT.parent / "shared" / "hotmesh-tests" / "tests" / "$setup"
