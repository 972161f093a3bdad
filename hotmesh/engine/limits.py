"""A worker message's flow-control fields, from its activity and job (pure).

The keys of keyed limits and the priority are resolved when the work message
is sent, in the job's context, and stored on the message: the claim that
enforces the limits reads them there, in the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from hotmesh import errors, flow
from hotmesh.compiler.plan import ActivityPlan
from hotmesh.expr import resolve
from hotmesh.expr.js import UNDEFINED

#: the job metadata key of ``pub(..., priority=n)``
JOB_PRIORITY = "pri"
#: key expressions of API-set keyed limits, by stream
TopicKeys = Mapping[str, flow.Keys]
NO_KEYS: TopicKeys = MappingProxyType({})


def _value(act: ActivityPlan, name: str, ctx: Mapping[str, Any]) -> Any:
    rule = act.field_rule(name)
    return rule.evaluate(ctx) if rule is not None else UNDEFINED


def _shown(value: Any) -> str:
    return "undefined" if value is UNDEFINED else repr(value)


def worker_fields(
    act: ActivityPlan,
    ctx: Mapping[str, Any],
    job_metadata: dict[str, Any],
    topic_keys: flow.Keys | None = None,
) -> tuple[int, str | None, str | None]:
    """``(priority, concurrency key, rate key)`` of ``act``'s work message,
    its fields evaluated in the job's context ``ctx``.

    A key the activity does not give comes from the topic's key expressions
    (``set_topic_limits``), resolved in the same context. A key that resolves to nothing usable, or a priority
    that is not an integer in range, is the job's failure (a
    ``HotMeshError``), not a message that would wait under a wrong key; only
    a key-only option (``{key: expr}``, no limit of its own) may give
    nothing: no key.
    """
    keys: list[str | None] = []
    for name, topic_expr in (
        ("concurrency.key", topic_keys.concurrency if topic_keys else None),
        ("rate.key", topic_keys.rate if topic_keys else None),
    ):
        if act.field_rule(name) is not None:
            resolved = _value(act, name, ctx)
            text = flow.key_text(resolved)
            if text is not None:
                keys.append(text)
                continue
            option = act.config.get(name.split(".")[0]) or {}
            if not flow.key_only(option) or not (
                resolved is UNDEFINED or resolved is None
            ):
                raise errors.HotMeshError(
                    f"activity '{act.id}': {name} {option.get('key')!r} resolved to "
                    f"{_shown(resolved)}; a keyed limit needs a non-empty string or a number"
                )
            # a key-only option gave nothing: the topic's key, if it has one
        if topic_expr is None:
            keys.append(None)
            continue
        resolved = resolve(topic_expr, ctx)
        text = flow.key_text(resolved)
        if text is None:
            raise errors.HotMeshError(
                f"activity '{act.id}': {name} {topic_expr!r} of its topic "
                f"(set_topic_limits) resolved to {_shown(resolved)}; "
                "a keyed limit needs a non-empty string or a number"
            )
        keys.append(text)
    raw = _value(act, "priority", ctx)
    if raw is UNDEFINED or raw is None:
        raw = job_metadata.get(JOB_PRIORITY, 0)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    try:
        priority = flow.priority(raw, f"activity '{act.id}'")
    except errors.ConfigError as exc:
        raise errors.HotMeshError(f"{exc} (resolved at run time)") from None
    return priority, keys[0], keys[1]
