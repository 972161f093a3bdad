"""Flow limits on worker activities (``concurrency``, ``rate``): values the
schema cannot judge (a zero period), a topic that is plain text, and one set
of limits per topic across the app. A key-only option (``{key: expr}``)
declares no limit, so it may go on any topic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotmesh import errors, flow
from hotmesh.compiler.structure import pointer

if TYPE_CHECKING:
    from hotmesh.compiler.report import Reporter
    from hotmesh.compiler.structure import ActivityInfo


def check_limits(activities: dict[str, ActivityInfo], report: Reporter) -> None:
    """Report every bad flow option of every worker activity."""
    first: dict[str, tuple[flow.TopicLimits, str]] = {}
    for aid, act in activities.items():
        config = act.config
        if act.type != "worker":
            continue
        where = f"activity '{aid}'"
        limiting = [
            name
            for name in ("concurrency", "rate")
            if config.get(name) is not None and not flow.key_only(config.get(name))
        ]
        if not _valid(act, where, report) or not limiting:
            continue
        field = limiting[0]
        here = act.pointer + pointer(field)
        topic = flow.literal_topic(config)
        if topic is None:
            report(
                here,
                f"{where}: flow limits need a plain-text topic (they are declared "
                f"once per topic), not {config.get('topic')!r}",
            )
            continue
        limits = flow.declared([(aid, config)])[topic]
        seen = first.get(topic)
        if seen is None:
            first[topic] = (limits, here)
        elif seen[0] != limits:
            report(
                here,
                f"{where}: topic '{topic}' already has other limits at "
                f"{report.where(seen[1])}; declare a topic's limits once",
            )


def _valid(act: ActivityInfo, where: str, report: Reporter) -> bool:
    ok = True
    for name, check in (("concurrency", flow.concurrency), ("rate", flow.rate)):
        value = act.config.get(name)
        try:
            if isinstance(value, dict) and flow.key_only(value):
                flow.key_expr(value["key"], where, f"{name}.key")
                continue
            check(value, where)
        except errors.ConfigError as exc:
            report(act.pointer + pointer(name), str(exc))
            ok = False
    return ok
