"""The integration suite's ``mesh`` factory (real PostgreSQL, a fresh database per test)."""

from __future__ import annotations

from tests.integration.conftest import mesh

__all__ = ["mesh"]
