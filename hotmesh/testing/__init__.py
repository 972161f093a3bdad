"""Testing hotmesh code: the pytest plugin, and MemFlow's test environments.

``pytest_plugins = ["hotmesh.testing"]`` in a ``conftest.py`` enables the
fixtures (``hotmesh_app``, ``hotmesh_dsn``, ``hotmesh_server``; see
``hotmesh.testing.plugin``). ``WorkflowEnvironment.start_time_skipping()``
runs MemFlow on a clock that skips (``hotmesh.testing.environment``);
``ActivityEnvironment`` runs one activity alone.
"""

from __future__ import annotations

from hotmesh.testing.activity import ActivityEnvironment
from hotmesh.testing.environment import WorkflowEnvironment
from hotmesh.testing.plugin import (
    LOCAL_DSN,
    AppFactory,
    hotmesh_app,
    hotmesh_dsn,
    hotmesh_server,
    port_open,
    server_dsn,
    throwaway_database,
    with_database,
)

__all__ = [
    "LOCAL_DSN",
    "ActivityEnvironment",
    "AppFactory",
    "WorkflowEnvironment",
    "hotmesh_app",
    "hotmesh_dsn",
    "hotmesh_server",
    "port_open",
    "server_dsn",
    "throwaway_database",
    "with_database",
]
