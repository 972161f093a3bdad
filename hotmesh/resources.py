"""The one place that locates data shipped with the package (schemas, grammar, graphs)."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


def schemas_dir() -> Traversable:
    """Directory of the manifest JSON Schemas.

    A wheel carries them as ``hotmesh/_schemas``; an editable install or a
    source checkout reads the top-level ``schemas/`` directly.
    """
    packaged = resources.files("hotmesh") / "_schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "schemas"


def package_file(package: str, name: str) -> Traversable:
    """A data file that lives inside a hotmesh package (e.g. the grammar)."""
    return resources.files(package) / name


def graph_file(name: str) -> Traversable:
    """A manifest shipped for the demo (``graphs/<name>``).

    A wheel carries it as ``hotmesh/_graphs/<name>``; a checkout reads ``graphs/``.
    """
    packaged = resources.files("hotmesh") / "_graphs" / name
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[1] / "graphs" / name
