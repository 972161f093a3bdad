"""Load app manifests: YAML + ``$ref`` into a located, plain-JSON document."""

from __future__ import annotations

from hotmesh.graph.guard import ManifestLimits
from hotmesh.graph.loader import Location, Manifest, load_app

__all__ = ["Location", "Manifest", "ManifestLimits", "load_app"]
