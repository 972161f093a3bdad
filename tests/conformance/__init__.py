"""The project's own conformance apps (C1-C15), written from the behaviour they test.

``apps/<name>/v<N>/hotmesh.yaml`` and ``seeds/`` mirror the layout of upstream's
``tests/$setup`` so one test runs over either root: the ``conformance_apps``
fixture gives this folder always, and upstream's too when ``../shared`` is there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

#: root of our own conformance manifests
OWN = Path(__file__).resolve().parent


def expected(app: str) -> dict[str, Any]:
    """The expected results of ``app``'s table-shaped cases (``expected.yaml``)."""
    table = YAML(typ="safe", pure=True).load(
        (OWN / "expected.yaml").read_text(encoding="utf-8")
    )
    return table[app]  # type: ignore[no-any-return]


def edited(manifest: Path, edit: Callable[[dict[str, Any]], None]) -> str:
    """``manifest`` (one file, no ``$ref``) changed by ``edit``, as deployable text."""
    document = YAML(typ="safe", pure=True).load(manifest.read_text(encoding="utf-8"))
    edit(document)
    return json.dumps(document, indent=1)  # text with newlines, not a path


def hook_with(document: dict[str, Any], key: str) -> dict[str, Any]:
    """The first activity of ``document`` that has ``key`` (its name differs per root)."""
    for graph in document["app"]["graphs"]:
        for body in graph["activities"].values():
            if key in body:
                return body  # type: ignore[no-any-return]
    raise KeyError(key)


def named(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The activity called ``name`` in any graph of ``document``."""
    for graph in document["app"]["graphs"]:
        if name in graph["activities"]:
            return graph["activities"][name]  # type: ignore[no-any-return]
    raise KeyError(name)
