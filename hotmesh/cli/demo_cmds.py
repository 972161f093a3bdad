"""demo: the README's order workflow, both branches, with its history."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from hotmesh import resources
from hotmesh.cli import cli
from hotmesh.cli.common import console, db_options, dumps, run, settings
from hotmesh.cli.views import load_history, render_history
from hotmesh.mesh import HotMesh

#: The two orders the demo places: one the stock covers, one it does not.
ORDERS = (("item-123", 5), ("item-456", 5))


def _workers(stock: dict[str, int]) -> list[dict[str, Any]]:
    """The three workers of examples/order.py, over an in-memory stock."""

    async def check_inventory(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"available": stock.get(message["data"]["itemId"], 0)}}

    async def reserve_item(message: dict[str, Any]) -> dict[str, Any]:
        data = message["data"]
        stock[data["itemId"]] -= data["qty"]
        return {"data": {"reservationId": f"res-{data['orderId']}"}}

    async def notify_backorder(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"notified": True}}

    return [
        {"topic": "inventory.check", "callback": check_inventory},
        {"topic": "inventory.reserve", "callback": reserve_item},
        {"topic": "inventory.backorder", "callback": notify_backorder},
    ]


def _manifest() -> str:
    found = resources.graph_file("order.yaml")
    # A path when installed normally; text if the package is zipped.
    return str(found) if isinstance(found, Path) else found.read_text("utf-8")


@cli.command()
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    default=30.0,
    show_default=True,
    envvar="HOTMESH_DEMO_TIMEOUT",
    show_envvar=True,
    help="Seconds to wait for each order.",
)
@db_options
@click.pass_context
def demo(
    ctx: click.Context, timeout: float, dsn: str | None, schema: str | None
) -> None:
    """Run the order workflow: deploy graphs/order.yaml, place two orders, show the history.

    Deploys and activates app `orders` version 1, then places one order that is
    in stock (reserved) and one that is not (back-ordered). The workers run in
    this process; the jobs and their history stay in the database.
    """
    url, schema_name = settings(ctx, dsn, schema)
    out = console()

    async def go() -> None:
        stock = {"item-123": 10, "item-456": 1}
        hm = await HotMesh.init(
            app_id="orders",
            engine={"connection": {"dsn": url}, "schema": schema_name},
            workers=_workers(stock),
        )
        async with hm:
            deployed = await hm.deploy(_manifest())
            await hm.activate(deployed["version"])
            out.print(
                f"deployed app orders version {escape(deployed['version'])} "
                "(graphs/order.yaml)"
            )
            for item, qty in ORDERS:
                order_id = f"order-{uuid.uuid4().hex[:8]}"
                data = {"orderId": order_id, "itemId": item, "requestedQty": qty}
                out.print(
                    f"\n[bold]{order_id}[/]: {qty} x {item} "
                    f"({stock.get(item, 0)} in stock)"
                )
                result = await hm.pubsub("order.requested", data, timeout=timeout)
                click.echo(dumps(result["data"]))
                out.print(
                    render_history(await load_history(hm.store, "orders", order_id))
                )

    run(go())
    out.print(
        "\nInspect them again with: hotmesh jobs --app orders; hotmesh history JOB_ID"
        f"\nOr in the browser (the web console): {escape(dashboard_hint())}"
    )


def dashboard_hint(
    installed: Callable[[str], bool] = lambda name: find_spec(name) is not None,
) -> str:
    """The command that opens the console, with its install step when the
    ``dashboard`` extra is missing (a first run must not end in an error)."""
    if all(installed(m) for m in ("starlette", "uvicorn", "jinja2")):
        return "hotmesh dashboard"
    return (
        "pip install 'hotmesh[dashboard]' (in a clone: pip install -e '.[dashboard]'),"
        " then: hotmesh dashboard"
    )
