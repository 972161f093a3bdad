"""hotmesh: durable workflows on PostgreSQL, from YAML graphs or plain Python."""

from __future__ import annotations

from hotmesh import errors
from hotmesh.memflow import MemFlow
from hotmesh.mesh import HotMesh

__all__ = ["HotMesh", "MemFlow", "errors"]
__version__ = "0.1.0"
