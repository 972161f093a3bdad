"""SVG drawings of the console, drawn here (pure: values in, markup out).

Every text that comes from the database is escaped: job and activity names are
user input. The drawings carry classes, never inline styles, so the page's
Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from markupsafe import Markup


def _t(value: object) -> str:
    return escape(str(value), quote=True)


def _svg(width: float, height: float, label: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" aria-label="{_t(label)}">'
    )
    return Markup(head + "".join(body) + "</svg>")


# -- completed and failed per minute ----------------------------------------------
def per_minute_chart(
    rows: Sequence[Mapping[str, Any]], now: datetime, minutes: int = 60
) -> Markup:
    """Stacked bars: jobs completed (and failed) in each of the last ``minutes``."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    done = [0] * minutes
    failed = [0] * minutes
    for row in rows:
        slot = int((row["minute"] - start).total_seconds() // 60)
        if 0 <= slot < minutes:
            done[slot] += int(row["done"])
            failed[slot] += int(row["failed"])
    top = max([d + f for d, f in zip(done, failed, strict=True)] + [1])
    width, height, left, bottom = 720.0, 180.0, 40.0, 24.0
    plot = height - bottom - 10
    bar = (width - left - 10) / minutes
    body = [
        f'<line class="axis" x1="{left}" y1="{height - bottom}" '
        f'x2="{width - 10}" y2="{height - bottom}"/>',
        f'<text class="tick" x="{left - 6}" y="{height - bottom - plot + 4:.0f}" '
        f'text-anchor="end">{top}</text>',
        f'<text class="tick" x="{left - 6}" y="{height - bottom:.0f}" '
        'text-anchor="end">0</text>',
    ]
    for i in range(minutes):
        x = left + i * bar
        ok_h = plot * done[i] / top
        bad_h = plot * failed[i] / top
        when = (start + timedelta(minutes=i)).strftime("%H:%M")
        tip = f"{when} UTC: {done[i]} completed, {failed[i]} failed"
        if done[i]:
            y = height - bottom - ok_h
            body.append(
                f'<rect class="bar-done" x="{x + 1:.1f}" y="{y:.1f}" '
                f'width="{bar - 2:.1f}" height="{ok_h:.1f}"><title>{_t(tip)}</title></rect>'
            )
        if failed[i]:
            y = height - bottom - ok_h - bad_h
            body.append(
                f'<rect class="bar-failed" x="{x + 1:.1f}" y="{y:.1f}" '
                f'width="{bar - 2:.1f}" height="{bad_h:.1f}"><title>{_t(tip)}</title></rect>'
            )
        if i % 10 == 0 or i == minutes - 1:
            body.append(
                f'<text class="tick" x="{x + bar / 2:.1f}" y="{height - 8}" '
                f'text-anchor="middle">{when}</text>'
            )
    return _svg(width, height, "jobs completed and failed per minute", body)


# -- a job's timeline ---------------------------------------------------------------
def attempts(row: Mapping[str, Any]) -> int:
    """How many attempts an activity run took: 1, plus the failed ones its row
    records (``output.metadata.try``, written when a retried worker answered)."""
    output = row.get("output")
    meta = output.get("metadata") if isinstance(output, dict) else None
    tries = meta.get("try") if isinstance(meta, dict) else None
    return 1 + tries if isinstance(tries, int) and tries > 0 else 1


def gantt(rows: Sequence[Mapping[str, Any]], now: datetime) -> Markup:
    """One bar per activity run, from its start to its end (running: to now)."""
    if not rows:
        return Markup("")
    starts = [r["started_at"] for r in rows]
    ends = [r["ended_at"] or now for r in rows]
    t0 = min(starts)
    span = max((max(ends) - t0).total_seconds(), 0.001)
    label_w, width, row_h = 230.0, 820.0, 22.0
    plot = width - label_w - 80
    height = row_h * len(rows) + 24
    body = [
        f'<text class="tick" x="{label_w}" y="14">0 ms</text>',
        f'<text class="tick" x="{label_w + plot}" y="14" text-anchor="end">'
        f"{span * 1000:.0f} ms</text>",
    ]
    for i, (row, end) in enumerate(zip(rows, ends, strict=True)):
        y = 20 + i * row_h
        x = label_w + plot * (row["started_at"] - t0).total_seconds() / span
        seconds = (end - row["started_at"]).total_seconds()
        w = max(plot * seconds / span, 2.0)
        state = (
            "error"
            if row.get("error") is not None
            else ("done" if row.get("ended_at") else "open")
        )
        name = f"{row['activity_id']} {row['dimension']}"
        tries = attempts(row)
        tip = f"{name} ({row['type']}): {seconds * 1000:.1f} ms, {state}"
        if tries > 1:  # the bar spans every attempt: from the first start
            name, tip = f"{name} ×{tries}", f"{tip}, {tries} attempts"
        body.append(
            f'<g class="run run-{state}" data-activity="{_t(row["activity_id"])}">'
            f'<text class="label" x="{label_w - 8}" y="{y + 14:.0f}" '
            f'text-anchor="end">{_t(name)}</text>'
            f'<rect x="{x:.1f}" y="{y + 3:.0f}" width="{w:.1f}" height="{row_h - 6}">'
            f"<title>{_t(tip)}</title></rect>"
            f'<text class="tick" x="{min(x + w + 4, width - 4):.1f}" y="{y + 14:.0f}">'
            f"{seconds * 1000:.0f} ms</text></g>"
        )
    return _svg(width, height, "timeline of the activity runs", body)


# -- an app graph -------------------------------------------------------------------
@dataclass(frozen=True)
class _Node:
    aid: str
    level: int
    row: int


def _short(value: Any) -> str:
    """A compact reading of a condition's value: the last part of each reference."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}"):
            inner = value[1:-1]
            return inner.rsplit(".", 1)[-1] if not inner.startswith("@") else inner[1:]
        return repr(value) if value else "''"
    if isinstance(value, dict) and "@pipe" in value:
        rows = value["@pipe"]
        return " | ".join(
            ", ".join(_short(v) for v in row) if isinstance(row, list) else _short(row)
            for row in rows
        )
    if isinstance(value, list):
        return ", ".join(_short(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def condition_label(edge: Mapping[str, Any]) -> str:
    """``available, requestedQty | greater_than_or_equal = true`` for a transition."""
    cond = edge.get("conditions")
    if not cond:
        return ""
    parts = [
        f"{_short(m['actual'])} = {_short(m['expected'])}"
        for m in cond.get("match", [])
    ]
    code = cond.get("code")
    if code not in (None, 200):
        parts.append(f"code {code}")
    gate = f" {cond.get('gate', 'and')} "
    return gate.join(parts)


def _layout(activities: Mapping[str, Mapping[str, Any]]) -> dict[str, _Node]:
    """Levels by longest forward path from the triggers (cycle edges left out)."""
    level: dict[str, int] = {}
    roots = [a for a, act in activities.items() if act.get("type") == "trigger"]
    order = list(roots) + [a for a in activities if a not in roots]
    for aid in order:
        level.setdefault(aid, 0)
        queue = [aid]
        seen = 0
        while queue and seen < 10 * len(activities) + 10:
            seen += 1
            current = queue.pop(0)
            for edge in activities[current].get("transitions", []):
                to = edge["to"]
                if to in activities and to not in activities[current].get(
                    "ancestors", []
                ):
                    if level.get(to, -1) < level[current] + 1:
                        level[to] = level[current] + 1
                        queue.append(to)
    rows: dict[int, int] = {}
    nodes = {}
    for aid in order:
        lv = level[aid]
        nodes[aid] = _Node(aid, lv, rows.get(lv, 0))
        rows[lv] = rows.get(lv, 0) + 1
    return nodes


def graph_diagram(
    plan: Mapping[str, Any],
    graph: Mapping[str, Any],
    stats: Mapping[str, Mapping[str, Any]],
) -> Markup:
    """One graph of a plan: activities as boxes by type, transitions with their
    conditions, cycles as dashed edges back, hooks marked, and per-activity
    runs, errors and p50/p95 over recent jobs."""
    acts = {
        a: plan["activities"][a] for a in graph["activities"] if a in plan["activities"]
    }
    nodes = _layout(acts)
    box_w, box_h, gap_x, gap_y = 190.0, 70.0, 110.0, 40.0
    levels = max([n.level for n in nodes.values()] + [0]) + 1
    rows = max([n.row for n in nodes.values()] + [0]) + 1
    width = levels * (box_w + gap_x) + 20
    height = rows * (box_h + gap_y) + 60

    def pos(aid: str) -> tuple[float, float]:
        n = nodes[aid]
        return 20 + n.level * (box_w + gap_x), 20 + n.row * (box_h + gap_y)

    body = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"/></marker></defs>'
    ]
    for aid, act in acts.items():
        x1, y1 = pos(aid)
        for edge in act.get("transitions", []):
            to = edge["to"]
            if to not in nodes:
                continue
            x2, y2 = pos(to)
            label = condition_label(edge)
            back = to in act.get("ancestors", []) or nodes[to].level <= nodes[aid].level
            if back:  # a cycle: from the bottom of the source back under the boxes
                sx, sy = x1 + box_w / 2, y1 + box_h
                ex, ey = x2 + box_w / 2, y2 + box_h
                low = max(sy, ey) + gap_y * 0.8
                d = f"M {sx:.0f} {sy:.0f} C {sx:.0f} {low:.0f}, {ex:.0f} {low:.0f}, {ex:.0f} {ey:.0f}"
                lx, ly = (sx + ex) / 2, low - 4
                cls = "edge edge-cycle"
            else:
                sx, sy = x1 + box_w, y1 + box_h / 2
                ex, ey = x2, y2 + box_h / 2
                mid = (sx + ex) / 2
                d = f"M {sx:.0f} {sy:.0f} C {mid:.0f} {sy:.0f}, {mid:.0f} {ey:.0f}, {ex:.0f} {ey:.0f}"
                lx, ly = mid, (sy + ey) / 2 - 6
                cls = "edge"
            body.append(f'<path class="{cls}" d="{d}" marker-end="url(#arrow)"/>')
            if label:
                shown = label if len(label) <= 34 else label[:33] + "…"
                body.append(
                    f'<text class="edge-label" x="{lx:.0f}" y="{ly:.0f}" '
                    f'text-anchor="middle">{_t(shown)}<title>{_t(label)}</title></text>'
                )
    for aid, act in acts.items():
        x, y = pos(aid)
        kind = str(act.get("type", ""))
        hook = act.get("hook_topic")
        s = stats.get(aid, {})
        runs, errs = int(s.get("runs") or 0), int(s.get("errors") or 0)
        p50, p95 = s.get("p50"), s.get("p95")
        line = f"{runs} runs · {errs} errors"
        timing = (
            f"p50 {p50:.0f} ms · p95 {p95:.0f} ms"
            if p50 is not None and p95 is not None
            else "no finished runs"
        )
        extra = f" · hook {hook}" if hook else ""
        body.append(
            f'<g class="node node-{_t(kind)}{" node-hook" if hook else ""}" '
            f'data-activity="{_t(aid)}">'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{box_w:.0f}" height="{box_h:.0f}" rx="6"/>'
            f'<text class="node-title" x="{x + 8:.0f}" y="{y + 17:.0f}">{_t(aid)}</text>'
            f'<text class="node-type" x="{x + 8:.0f}" y="{y + 33:.0f}">{_t(kind + extra)}</text>'
            f'<text class="node-stat" x="{x + 8:.0f}" y="{y + 49:.0f}">{_t(line)}</text>'
            f'<text class="node-stat" x="{x + 8:.0f}" y="{y + 63:.0f}">{_t(timing)}</text>'
            f"<title>{_t(act.get('title') or aid)}</title></g>"
        )
    return _svg(width, height, f"graph {graph.get('subscribes', '')}", body)
