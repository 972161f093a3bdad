"""A worker message's flow-control fields, from its activity and job (pure).

The keys of keyed limits and the priority are resolved when the work message
is sent, in the job's context, and stored on the message: the claim that
enforces the limits reads them there, in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hotmesh import errors, flow
from hotmesh.compiler.plan import ActivityPlan
from hotmesh.expr.js import UNDEFINED

#: the job metadata key of ``pub(..., priority=n)``
JOB_PRIORITY = "pri"


def _shown(value: Any) -> str:
    return "undefined" if value is UNDEFINED else repr(value)


def worker_fields(
    act: ActivityPlan, value: Callable[[str], Any], job_metadata: dict[str, Any]
) -> tuple[int, str | None, str | None]:
    """``(priority, concurrency key, rate key)`` of ``act``'s work message.

    ``value(name)`` evaluates the activity's field ``name`` in the job's
    context. A key that resolves to nothing usable, or a priority that is not
    an integer in range, is the job's failure (a ``HotMeshError``), not a
    message that would wait under a wrong key; only a key-only option
    (``{key: expr}``, no limit of its own) may give nothing: no key.
    """
    keys: list[str | None] = []
    for name in ("concurrency.key", "rate.key"):
        if act.field_rule(name) is None:
            keys.append(None)
            continue
        resolved = value(name)
        text = flow.key_text(resolved)
        option = act.config.get(name.split(".")[0]) or {}
        if (
            text is None
            and flow.key_only(option)
            and (resolved is UNDEFINED or resolved is None)
        ):
            keys.append(None)
            continue
        if text is None:
            expr = option.get("key")
            raise errors.HotMeshError(
                f"activity '{act.id}': {name} {expr!r} resolved to {_shown(resolved)}; "
                "a keyed limit needs a non-empty string or a number"
            )
        keys.append(text)
    raw = value("priority") if act.field_rule("priority") is not None else UNDEFINED
    if raw is UNDEFINED or raw is None:
        raw = job_metadata.get(JOB_PRIORITY, 0)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    try:
        priority = flow.priority(raw, f"activity '{act.id}'")
    except errors.ConfigError as exc:
        raise errors.HotMeshError(f"{exc} (resolved at run time)") from None
    return priority, keys[0], keys[1]
