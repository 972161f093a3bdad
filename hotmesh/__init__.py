"""hotmesh: durable workflows on PostgreSQL, from YAML graphs or plain Python."""

from __future__ import annotations

from hotmesh import errors
from hotmesh.mesh import HotMesh

__all__ = ["HotMesh", "errors"]
__version__ = "0.1.0"
