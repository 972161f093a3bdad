"""The README's runnable examples work end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "examples" / f"{name}.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_order_example_reserves_one_order_and_backorders_the_other(
    pg_dsn: str,
) -> None:
    order = _load("order")
    reserved, backordered = await order.main(pg_dsn)
    assert reserved["data"]["status"] == "reserved"
    assert reserved["data"]["reservationId"].startswith("res-order-")
    assert reserved["metadata"]["js"] == 0
    assert backordered["data"] == {
        "orderId": backordered["data"]["orderId"],
        "available": 1,
        "status": "backordered",
    }


async def test_memflow_example_runs_every_pattern(pg_dsn: str) -> None:
    example = _load("memflow_order")
    results = await example.main(pg_dsn)
    assert results["reserved"] == "reserved 5 of item-123"
    assert results["backordered"] == "backordered"
    assert results["reminder"] == "item-123 has 5 in stock"
    assert results["quote"] == 22.0
    assert results["with_quote"] == {"total": 19.0, "outcome": "reserved 2 of item-123"}


async def test_memflow_messages_example_prints_what_temporals_samples_print(
    pg_dsn: str,
) -> None:
    # the lines Temporal's hello_signal, hello_query and hello_update print
    example = _load("memflow_messages")
    assert await example.main(pg_dsn, pause=0.2) == [
        "Result: ['Hello, user1', 'Hello, user2', 'Hello, user3']",
        "First greeting result: Hello, World!",
        "Second greeting result: Goodbye, World!",
        "Update Result: Workflow status updated",
        "Workflow Result: Hello, World!",
    ]


async def test_memflow_cancellation_example_prints_what_temporals_sample_prints(
    pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Temporal's hello_cancellation: heartbeats until cancelled, then the
    # activity's CancelledError, the cleanup activity and the expected failure
    example = _load("memflow_cancellation")
    example.BEAT = 0.1  # the activity's work between heartbeats, shortened
    text = await example.main(pg_dsn)
    assert text.startswith("WorkflowCancelledError(")
    lines = capsys.readouterr().out.splitlines()
    beats = [line for line in lines if line == "Heartbeating activity"]
    assert beats and lines[: len(beats)] == beats
    assert lines[len(beats) :] == [
        "Activity cancelled",
        "Executing cleanup activity",
        f"Got expected exception: {text}",
    ]
