"""One self-contained manifest schema for editors, built from ``schemas/*.schema.json``.

The shipped schemas are several files that ``$ref`` each other by ``$id``
(``https://hotmesh.dev/schemas/...``), which no editor can fetch. The bundle
keeps the root (``app.schema.json``) and puts every other file under
``$defs/<file name>``, with each reference rewritten to a local JSON pointer,
so yaml-language-server and VS Code need nothing but the one file.
"""

from __future__ import annotations

import json
from typing import Any

from hotmesh.resources import schemas_dir

ROOT_FILE = "app.schema.json"
#: the bundled file shipped beside the schemas (``hotmesh schema --path``)
BUNDLE_FILE = "hotmesh-manifest.json"
REGENERATE = "hotmesh schema > schemas/hotmesh-manifest.json"


def _rewrite(node: Any, here: str, files: set[str]) -> Any:
    """``node`` with its ``$ref``s made local; ``here`` is the file it came from."""
    if isinstance(node, list):
        return [_rewrite(item, here, files) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            target, _, pointer = value.partition("#")
            target = target or here
            if target not in files:
                raise ValueError(f"{here}: $ref to unknown schema {value!r}")
            base = "#" if target == ROOT_FILE else f"#/$defs/{target}"
            out[key] = base + pointer
        else:
            out[key] = _rewrite(value, here, files)
    return out


def bundle(files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The schemas ``files`` (file name -> schema) as one document rooted at the app schema."""
    names = set(files)
    root: dict[str, Any] = _rewrite(
        {k: v for k, v in files[ROOT_FILE].items() if k != "$id"}, ROOT_FILE, names
    )
    defs = dict(root.get("$defs", {}))
    for name in sorted(names - {ROOT_FILE}):
        body = {k: v for k, v in files[name].items() if k not in ("$id", "$schema")}
        defs[name] = _rewrite(body, name, names)
    root["$defs"] = defs
    root["title"] = "hotmesh app manifest (bundled: one file, local references only)"
    return root


def shipped_schemas() -> dict[str, dict[str, Any]]:
    """Every ``*.schema.json`` shipped with hotmesh, by file name."""
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"))
        for entry in schemas_dir().iterdir()
        if entry.name.endswith(".schema.json")
    }


def render() -> str:
    """The bundle as the text of ``schemas/hotmesh-manifest.json``."""
    return json.dumps(bundle(shipped_schemas()), indent=2, ensure_ascii=False) + "\n"
