"""``app.schedules`` of a manifest: checked into specs at deploy (pure, no I/O).

The JSON Schema (``schemas/schedule.schema.json``) has already checked keys
and types; here each entry goes through the same ``spec.build`` as
``hm.schedules.create`` (croniter, ``zoneinfo``, durations), and every
problem is reported at its ``file:line:col``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hotmesh import errors
from hotmesh.compiler import compile_checked
from hotmesh.graph import load_app
from hotmesh.schedules import spec as specs

if TYPE_CHECKING:
    from hotmesh.compiler import Plan
    from hotmesh.graph import Manifest

_NAMED = re.compile(r"schedule option '(\w+)'")
_FIELDS = ("id", "topic", "data")


def declared(manifest: Manifest, plan: Plan) -> list[specs.ScheduleSpec]:
    """The manifest's schedules as specs; ``ManifestValidationError`` lists
    every bad entry (a bad cron, zone or period, an unknown topic, a repeated id)."""
    entries = manifest.document["app"].get("schedules") or []
    problems: list[errors.Problem] = []
    out: list[specs.ScheduleSpec] = []
    seen: set[str] = set()

    def problem(pointer: str, message: str) -> None:
        loc = manifest.locate(pointer)
        problems.append(errors.Problem(loc.file, loc.line, loc.col, pointer, message))

    for index, entry in enumerate(entries):
        base = f"/app/schedules/{index}"
        options = {k: v for k, v in entry.items() if k not in _FIELDS}
        try:
            spec = specs.build(entry.get("id"), entry.get("topic"), None, options)
        except errors.ConfigError as exc:
            named = _NAMED.search(str(exc))
            key = named.group(1) if named and named.group(1) in entry else ""
            problem(f"{base}/{key}" if key else base, str(exc))
            continue
        data = entry.get("data") or {}
        try:
            data = json.loads(json.dumps(data))
        except (TypeError, ValueError):
            problem(f"{base}/data", f"schedule '{spec.id}': data must be plain JSON")
            continue
        if plan.graph_for_topic(spec.topic) is None:
            known = ", ".join(sorted(g.subscribes for g in plan.graphs))
            problem(
                f"{base}/topic",
                f"schedule '{spec.id}': no graph of this version subscribes to "
                f"'{spec.topic}' (graphs: {known})",
            )
        elif spec.id in seen:
            problem(f"{base}/id", f"schedule id '{spec.id}' is declared twice")
        else:
            seen.add(spec.id)
            out.append(specs.ScheduleSpec(**{**_fields(spec), "data": data}))
    if problems:
        raise errors.ManifestValidationError(problems)
    return out


def problems(
    source: str | os.PathLike[str], ref_root: str | os.PathLike[str] | None = None
) -> list[errors.Problem]:
    """The schedule problems of a manifest that otherwise validates
    (``hotmesh validate``: what ``deploy`` would refuse)."""
    manifest = load_app(source, ref_root=ref_root)
    plan, _warnings = compile_checked(manifest)
    try:
        declared(manifest, plan)
    except errors.ManifestValidationError as exc:
        return list(exc.problems)
    return []


def _fields(spec: specs.ScheduleSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in spec.__dataclass_fields__}


def plan_document(
    plan_doc: Mapping[str, Any], declared: list[specs.ScheduleSpec]
) -> dict[str, Any]:
    """The version's stored document: the plan as JSON and, when there are
    any, its schedules (so a redeploy of the same version with other
    schedules is a conflict, like any other change)."""
    doc: dict[str, Any] = json.loads(json.dumps(plan_doc))
    if declared:
        doc["schedules"] = [
            {"id": s.id, "topic": s.topic, "data": s.data, "options": s.options()}
            for s in declared
        ]
    return doc
