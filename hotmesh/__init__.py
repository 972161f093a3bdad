"""hotmesh: durable workflows on PostgreSQL, from YAML graphs or plain Python."""

from __future__ import annotations

from hotmesh import errors

__all__ = ["errors"]
__version__ = "0.1.0"
