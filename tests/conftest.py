"""Shared fixtures: the database plugin and a clean environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import upstream

pytest_plugins = ["hotmesh.testing", "tests.postgres"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's HOTMESH_*/DATABASE_URL settings out of the tests."""
    for key in list(os.environ):
        if (
            key.startswith("HOTMESH_") and key != "HOTMESH_TEST_DSN"
        ) or key == "DATABASE_URL":
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def upstream_apps() -> Path:
    """Root of upstream's functional-test manifests (``tests/$setup``); skips when absent."""
    if not upstream.AVAILABLE:
        pytest.skip(upstream.REASON)
    return upstream.SETUP


@pytest.fixture(scope="session")
def hotmesh_server(pg_server: str) -> str:
    """hotmesh.testing's fixtures use the suite's server (one embedded server, not two)."""
    return pg_server
