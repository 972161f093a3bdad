"""Entry points: semantic checks, compile a manifest, validate a source."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from hotmesh.compiler.build import compile_document
from hotmesh.compiler.plan import Plan
from hotmesh.compiler.report import Reporter
from hotmesh.errors import (
    CompileError,
    ManifestError,
    ManifestLoadError,
    ManifestValidationError,
    Problem,
    problems_from,
)

if TYPE_CHECKING:
    from hotmesh.graph import Manifest, ManifestLimits


def _run(manifest: Manifest) -> tuple[Plan | None, list[Problem]]:
    report = Reporter(manifest.source, manifest.locate)
    try:
        plan = compile_document(manifest.document, report, manifest.limits.max_branches)
    except (RecursionError, MemoryError) as exc:
        # The compiler's walks are iterative and loading is bounded
        # (ManifestLimits), so this is a last guard: never a raw error.
        what = "deeply nested" if isinstance(exc, RecursionError) else "large"
        raise ManifestLoadError(
            [Problem(manifest.source, 1, 1, "", f"manifest is too {what} to compile")]
        ) from None
    return plan, problems_from([*report.problems, *manifest.warnings])


def check_app(manifest: Manifest) -> list[Problem]:
    """Every semantic problem of a schema-valid manifest, errors and warnings, sorted.

    Warnings (unknown keys from the loader, unreachable activities) never stop
    a compile.
    """
    return _run(manifest)[1]


def strictly(problems: list[Problem]) -> list[Problem]:
    """``problems`` with every warning made an error (``strict=True``)."""
    return [
        p
        if p.severity == "error"
        else dataclasses.replace(
            p, severity="error", message=f"{p.message} (an error in strict mode)"
        )
        for p in problems
    ]


def compile_checked(
    manifest: Manifest, strict: bool = False
) -> tuple[Plan, list[Problem]]:
    """Compile a loaded manifest; returns the plan and the warnings.

    ``ManifestValidationError`` lists every error (and, with ``strict``, every
    warning as an error).
    """
    plan, problems = _run(manifest)
    if strict:
        problems = strictly(problems)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ManifestValidationError(errors)
    if plan is None:  # pragma: no cover - no errors means a plan was built
        raise CompileError(f"{manifest.source}: no plan was built")
    return plan, problems


def compile_app(manifest: Manifest, strict: bool = False) -> Plan:
    """Compile a loaded manifest; ``ManifestValidationError`` lists every error."""
    return compile_checked(manifest, strict)[0]


def validate(
    source: str | os.PathLike[str],
    *,
    strict: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
    ref_root: str | os.PathLike[str] | None = None,
    limits: ManifestLimits | None = None,
) -> list[Problem]:
    """Load, schema-check and semantically check ``source``; never raises for its problems.

    With ``strict`` every warning is reported as an error. ``base_dir``,
    ``ref_root`` and ``limits`` are as for ``load_app``.
    """
    from hotmesh.graph import load_app

    try:
        manifest = load_app(source, base_dir=base_dir, ref_root=ref_root, limits=limits)
    except ManifestError as exc:
        problems = problems_from(exc.problems)
    else:
        problems = check_app(manifest)
    return strictly(problems) if strict else problems


def compile_source(
    source: str | os.PathLike[str],
    *,
    strict: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
    ref_root: str | os.PathLike[str] | None = None,
    limits: ManifestLimits | None = None,
) -> Plan:
    """Load and compile ``source`` (a path or YAML text), raising ``ManifestError``.

    ``base_dir``, ``ref_root`` and ``limits`` are as for ``load_app``.
    """
    from hotmesh.graph import load_app

    return compile_app(
        load_app(source, base_dir=base_dir, ref_root=ref_root, limits=limits), strict
    )
