"""Fixtures for engine integration tests: a HotMesh factory on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from hotmesh import HotMesh

MeshFactory = Callable[..., Awaitable[HotMesh]]


@pytest.fixture
async def mesh(pg_dsn: str) -> AsyncIterator[MeshFactory]:
    """``await mesh(app_id, workers=[...])``: HotMesh instances stopped after the test."""
    made: list[HotMesh] = []

    async def make(
        app_id: str, workers: list[dict[str, Any]] | None = None, **engine: Any
    ) -> HotMesh:
        hm = await HotMesh.init(
            app_id=app_id,
            engine={"connection": {"dsn": pg_dsn}, **engine},
            workers=workers,
        )
        made.append(hm)
        return hm

    yield make
    for hm in made:
        await hm.stop()
