"""Compile a manifest source (path or YAML text) into a Plan for ``deploy``.

Uses ``hotmesh.graph.load_app`` when that layer is present; until then a small
built-in loader reads YAML, resolves ``$ref`` (file + JSON pointer) and runs
the compiler on the document.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hotmesh import errors
from hotmesh.compiler import Plan


def compile_any(source: str | os.PathLike[str]) -> Plan:
    """Compile ``source``; raises ``errors.ManifestError`` with locations on problems."""
    try:
        from hotmesh.graph import load_app  # noqa: F401
    except ImportError:
        return _fallback(source)
    from hotmesh.compiler import compile_source

    return compile_source(source)


def _fallback(source: str | os.PathLike[str]) -> Plan:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from hotmesh.compiler.build import compile_document
    from hotmesh.compiler.report import Reporter

    yaml = YAML(typ="safe", pure=True)
    text = str(source)
    is_text = not isinstance(source, os.PathLike) and (
        "\n" in text or text.startswith("app:")
    )
    base = Path.cwd() if is_text else Path(text).resolve().parent
    name = "<string>" if is_text else text

    def load(path: Path) -> Any:
        try:
            return yaml.load(path.read_text(encoding="utf-8"))
        except (OSError, YAMLError) as exc:
            raise errors.ManifestLoadError(
                [
                    errors.Problem(
                        file=str(path), line=0, col=0, pointer="", message=str(exc)
                    )
                ]
            ) from None

    def resolve(value: Any, here: Path, depth: int = 0) -> Any:
        if depth > 32:
            raise errors.ManifestLoadError(
                [
                    errors.Problem(
                        file=str(here),
                        line=0,
                        col=0,
                        pointer="",
                        message="$ref nesting too deep (cycle?)",
                    )
                ]
            )
        if isinstance(value, dict):
            if "$ref" in value and isinstance(value["$ref"], str):
                ref, _, pointer = value["$ref"].partition("#")
                target = (here / ref).resolve() if ref else None
                doc = load(target) if target else root
                for part in [p for p in pointer.split("/") if p]:
                    doc = doc[int(part)] if isinstance(doc, list) else doc[part]
                return resolve(doc, target.parent if target else here, depth + 1)
            return {k: resolve(v, here, depth) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v, here, depth) for v in value]
        return value

    if is_text:
        try:
            root = yaml.load(text)
        except YAMLError as exc:
            raise errors.ManifestLoadError(
                [errors.Problem(file=name, line=0, col=0, pointer="", message=str(exc))]
            ) from None
    else:
        root = load(Path(text))
    document = resolve(root, base)
    report = Reporter(name, None)
    plan = compile_document(document, report)
    problems = [p for p in report.problems if p.severity == "error"]
    if problems or plan is None:
        raise errors.ManifestValidationError(problems)
    return plan
