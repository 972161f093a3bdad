"""A graph's input.schema is enforced at pub: a bad input is refused and writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory

ORDER = Path(__file__).resolve().parents[2] / "graphs" / "order.yaml"


async def never(message: dict[str, Any]) -> dict[str, Any]:
    raise AssertionError("no worker may run for a refused input")


@pytest.mark.parametrize(
    ("data", "pointer", "fragment"),
    [
        (
            {"orderId": "o-1", "itemId": "i-1"},
            "/",
            "'requestedQty' is a required property",
        ),
        (
            {"orderId": "o-1", "itemId": "i-1", "requestedQty": "five"},
            "/requestedQty",
            "is not of type 'integer'",
        ),
        (
            {"orderId": "o-1", "itemId": "i-1", "requestedQty": 0},
            "/requestedQty",
            "less than the minimum of 1",
        ),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    mesh: MeshFactory, data: dict[str, Any], pointer: str, fragment: str
) -> None:
    hm = await mesh("orders", workers=[{"topic": "inventory.check", "callback": never}])
    await hm.deploy(ORDER)
    await hm.activate("1")
    with pytest.raises(errors.InputValidationError) as info:
        await hm.pub("order.requested", data)
    assert info.value.pointer == pointer
    assert fragment in str(info.value)
    assert "order.requested" in str(info.value)
    with pytest.raises(errors.JobNotFoundError):
        await hm.get_status("o-1")


async def test_valid_input_passes(mesh: MeshFactory) -> None:
    async def check(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"available": 0}}

    async def backorder(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {}}

    hm = await mesh(
        "orders",
        workers=[
            {"topic": "inventory.check", "callback": check},
            {"topic": "inventory.backorder", "callback": backorder},
        ],
    )
    await hm.deploy(ORDER)
    await hm.activate("1")
    out = await hm.pubsub(
        "order.requested", {"orderId": "o-2", "itemId": "i", "requestedQty": 1}
    )
    assert out["data"]["status"] == "backordered"
