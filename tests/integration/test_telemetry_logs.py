"""Logs (issue 18): every logger under ``hotmesh.…``, in the documented tree;
records carry the app, job, activity and topic, and the trace ids; nothing
is printed to stdout."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace

from hotmesh import errors, telemetry
from hotmesh.telemetry import logs
from tests.integration.conftest import MeshFactory
from tests.integration.otel_spans import MEMORY, SWITCH, install

ROOT = Path(__file__).resolve().parents[2]
APP = """
app:
  id: otellog
  version: '1'
  graphs:
    - subscribes: log.go
      expire: 60
      activities:
        t: {type: trigger}
        w: {type: worker, topic: log.work}
      transitions:
        t: [{to: w}]
"""


@pytest.fixture
def traced() -> Iterator[None]:
    install(MEMORY)
    telemetry.refresh()
    SWITCH.on = True
    yield
    SWITCH.on = False
    MEMORY.clear()


async def _broken(message: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("no stock")


async def test_a_worker_failure_is_logged_with_its_context_and_trace(
    mesh: MeshFactory,
    traced: None,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hm = await mesh("otellog", workers=[{"topic": "log.work", "callback": _broken}])
    await hm.deploy(APP)
    await hm.activate("1")
    with caplog.at_level(logging.WARNING, logger="hotmesh"):
        with trace.get_tracer("tests").start_as_current_span("test"):
            with pytest.raises(errors.JobError) as failed:
                await hm.pubsub("log.go", {}, timeout=30)
    [record] = [r for r in caplog.records if r.name == "hotmesh.worker"]
    assert "no stock" in str(record.exc_info[1] if record.exc_info else "")
    assert record.hotmesh_app == "otellog"  # type: ignore[attr-defined]
    assert record.hotmesh_job_id == failed.value.job_id  # type: ignore[attr-defined]
    assert record.hotmesh_activity == "w"  # type: ignore[attr-defined]
    assert record.hotmesh_topic == "log.work"  # type: ignore[attr-defined]
    job = [
        s
        for s in MEMORY.get_finished_spans()
        if s.name == "worker log.work"
        and (s.attributes or {}).get("hotmesh.job_id") == failed.value.job_id
    ]
    assert job, "the callback's span"
    ctx = job[0].get_span_context()
    assert record.otelTraceID == trace.format_trace_id(ctx.trace_id)  # type: ignore[attr-defined]
    assert record.otelSpanID == trace.format_span_id(ctx.span_id)  # type: ignore[attr-defined]
    assert capsys.readouterr().out == ""  # nothing printed outside the CLI


def test_records_outside_a_job_carry_empty_fields() -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    target = logging.getLogger("hotmesh.engine")
    target.addHandler(keep)
    try:
        logs.get("hotmesh.engine").warning("outside")
        with logs.context("a", "j1", "x", "t", {"trc": "1" * 32, "spn": "2" * 16}):
            logs.get("hotmesh.engine").warning(
                "inside", extra={"hotmesh_topic": "mine"}
            )
    finally:
        target.removeHandler(keep)
    outside, inside = seen
    assert {k: getattr(outside, k) for k in logs.FIELDS} == logs.FIELDS
    assert inside.hotmesh_job_id == "j1"  # type: ignore[attr-defined]
    assert inside.hotmesh_topic == "mine"  # a caller's own extra wins
    assert inside.otelTraceID == "1" * 32  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="under 'hotmesh'"):
        logs.get("engine")


def test_every_logger_is_in_the_documented_tree() -> None:
    names: set[str] = set()
    for path in (ROOT / "hotmesh").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r'logs\.get\("(hotmesh[\w.]*)"\)', text))
        assert not re.search(r"logging\.getLogger\(\"hotmesh[\w.]*\"\)", text) or (
            "hotmesh/cli" in str(path)
        ), f"{path}: use hotmesh.telemetry.logs.get (its records carry the context)"
    doc = (ROOT / "docs" / "howto" / "observability.md").read_text(encoding="utf-8")
    tree = doc.split("## Logs", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(hotmesh(?:\.[\w]+)*)`", tree))
    assert names, "found no loggers"
    assert names <= documented, sorted(names - documented)


def test_the_json_formatter_of_the_docs_formats_a_record() -> None:
    doc = (ROOT / "docs" / "howto" / "observability.md").read_text(encoding="utf-8")
    block = doc.split("class JsonFormatter", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {"json": json, "logging": logging}
    exec("class JsonFormatter" + block.split("\n\n\n", 1)[0], scope)
    record = logging.LogRecord(
        "hotmesh.worker", logging.WARNING, "f", 1, "m %s", ("x",), None
    )
    for key, value in {**logs.FIELDS, "hotmesh_job_id": "j"}.items():
        setattr(record, key, value)
    out = json.loads(scope["JsonFormatter"]().format(record))
    assert out["message"] == "m x" and out["hotmesh_job_id"] == "j"
    assert out["logger"] == "hotmesh.worker" and out["level"] == "WARNING"
