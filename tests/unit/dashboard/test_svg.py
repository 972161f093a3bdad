"""The console's SVG drawings: shapes from values, and every text escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from hotmesh.dashboard import security, svg

NOW = datetime(2026, 12, 7, 14, 30, 20, tzinfo=UTC)
EVIL = '<script>alert(1)</script>"><img onerror=x>'


def _parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)  # well-formed XML, or it raises


def test_per_minute_chart_stacks_done_and_failed() -> None:
    rows = [
        {
            "minute": NOW.replace(second=0) - timedelta(minutes=1),
            "done": 4,
            "failed": 1,
        },
        {
            "minute": NOW - timedelta(hours=2),
            "done": 9,
            "failed": 9,
        },  # outside: left out
    ]
    root = _parse(svg.per_minute_chart(rows, NOW))
    ns = "{http://www.w3.org/2000/svg}"
    done = root.findall(f"{ns}rect[@class='bar-done']")
    failed = root.findall(f"{ns}rect[@class='bar-failed']")
    assert len(done) == 1 and len(failed) == 1
    assert float(done[0].get("height", 0)) == 4 * float(failed[0].get("height", 0))


def test_gantt_has_a_bar_per_run_and_escapes_names() -> None:
    t0 = NOW - timedelta(seconds=2)
    rows = [
        {"activity_id": "order", "dimension": ",0", "type": "trigger", "started_at": t0,
         "ended_at": t0 + timedelta(milliseconds=5), "error": None},
        {"activity_id": EVIL, "dimension": ",0,0", "type": "hook", "started_at": t0,
         "ended_at": None, "error": None},
    ]  # fmt: skip
    markup = str(svg.gantt(rows, NOW))
    root = _parse(markup)
    groups = [g for g in root.iter() if g.get("class", "").startswith("run ")]
    assert [g.get("class") for g in groups] == ["run run-done", "run run-open"]
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert svg.gantt([], NOW) == ""


def test_graph_diagram_nodes_edges_labels_cycles_and_stats() -> None:
    plan = {
        "activities": {
            "t": {"type": "trigger", "ancestors": [], "transitions": [{"to": "w"}]},
            "w": {
                "type": "worker",
                "ancestors": ["t"],
                "transitions": [
                    {
                        "to": "c",
                        "conditions": {
                            "code": 200,
                            "gate": "and",
                            "match": [{"actual": "{w.output.data.n}", "expected": 3}],
                        },
                    },
                ],
            },
            "c": {
                "type": "cycle",
                "ancestors": ["t", "w"],
                "transitions": [{"to": "w"}],
            },
            "h": {
                "type": "hook",
                "ancestors": [],
                "hook_topic": EVIL,
                "transitions": [],
            },
        }
    }
    graph = {"subscribes": "g", "activities": ["t", "w", "c", "h"]}
    stats = {"w": {"runs": 10, "errors": 2, "p50": 1.5, "p95": 9.0}}
    markup = str(svg.graph_diagram(plan, graph, stats))
    root = _parse(markup)
    kinds = [g.get("class") for g in root.iter() if g.get("data-activity")]
    assert kinds == [
        "node node-trigger",
        "node node-worker",
        "node node-cycle",
        "node node-hook node-hook",
    ]
    edges = [
        p.get("class") for p in root.iter() if (p.get("class") or "").startswith("edge")
    ]
    assert "edge edge-cycle" in edges and edges.count("edge") == 2
    assert "n = 3" in markup and "10 runs · 2 errors" in markup and "p95 9 ms" in markup
    assert "<script>" not in markup


def test_binds_beyond_loopback_need_a_token() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.8.9.1"):
        security.check_bind(host, None)
    for host in ("0.0.0.0", "::", "10.0.0.1", "example.org"):
        try:
            security.check_bind(host, None)
        except Exception as exc:
            assert "--token" in str(exc)
        else:
            raise AssertionError(f"{host} was let through without a token")
    security.check_bind("0.0.0.0", "long-enough-token")
