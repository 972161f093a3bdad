"""Shared fixtures: the database plugin and a clean environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import upstream
from tests.conformance import OWN

pytest_plugins = ["hotmesh.testing", "tests.postgres"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's HOTMESH_*/DATABASE_URL settings out of the tests."""
    for key in list(os.environ):
        if (
            key.startswith("HOTMESH_") and key != "HOTMESH_TEST_DSN"
        ) or key == "DATABASE_URL":
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(
    scope="session",
    params=["own", pytest.param("upstream", marks=upstream.requires_upstream)],
)
def conformance_apps(request: pytest.FixtureRequest) -> Path:
    """Root of the conformance apps (``apps/<name>/v<N>/hotmesh.yaml``, ``seeds/``).

    Each test runs over our own manifests (``tests/conformance``), and again over
    upstream's ``tests/$setup`` when ``../shared/hotmesh-tests`` is there.
    """
    return OWN if request.param == "own" else upstream.SETUP


@pytest.fixture(scope="session")
def hotmesh_server(pg_server: str) -> str:
    """hotmesh.testing's fixtures use the suite's server (one embedded server, not two)."""
    return pg_server
