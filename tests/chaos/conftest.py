"""The chaos suite reuses the integration fixtures (a HotMesh factory on a fresh database)."""

from __future__ import annotations

from tests.integration.conftest import mesh

__all__ = ["mesh"]
