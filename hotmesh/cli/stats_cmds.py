"""stats: an app's backlog per topic, jobs per status and throughput, the
figures of the OpenTelemetry gauges, as tables (``--watch`` refreshes them)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Group
from rich.markup import escape
from rich.table import Table

from hotmesh.cli import cli
from hotmesh.cli.common import (
    app_option,
    console,
    db_options,
    pick_app,
    run,
    settings,
    store,
)

#: the job statuses always shown, as ``hotmesh jobs --status`` names them
STATUSES = ("scheduled", "running", "done", "error")


def _topic(stream: str) -> str:
    return stream[2:] if stream.startswith("w:") else f"${stream}"


def render(app_id: str, figures: dict[str, Any]) -> Group:
    """The three tables of one read."""
    backlog = Table("topic", "ready", "oldest (s)", title=f"{app_id}: backlog")
    for stream, (ready, oldest) in sorted(figures["backlog"].items()):
        backlog.add_row(escape(_topic(stream)), str(ready), f"{oldest:.1f}")
    if not figures["backlog"]:
        backlog.add_row("(none ready)", "0", "")
    jobs = Table("status", "jobs", title="jobs")
    for status in STATUSES:
        jobs.add_row(status, str(figures["jobs"].get(status, 0)))
    window = float(figures["window"])
    flow = figures["throughput"]
    rate = Table("", "jobs", "per second", title=f"last {window:g} s")
    for label in ("started", "ended", "failed"):
        count = int(flow.get(label) or 0)
        rate.add_row(label, str(count), f"{count / window:.2f}")
    return Group(backlog, jobs, rate)


def as_document(app_id: str, figures: dict[str, Any]) -> dict[str, Any]:
    """One read as JSON (``--json``)."""
    return {
        "app": app_id,
        "at": datetime.now(UTC).isoformat(),
        "backlog": {
            _topic(s): {"ready": r, "oldest": o}
            for s, (r, o) in sorted(figures["backlog"].items())
        },
        "jobs": {s: figures["jobs"].get(s, 0) for s in STATUSES},
        "throughput": {
            "window": figures["window"],
            **{
                k: int(figures["throughput"].get(k) or 0)
                for k in ("started", "ended", "failed")
            },
        },
    }


@cli.command()
@app_option()
@click.option("--watch", is_flag=True, help="Refresh until interrupted (Ctrl-C).")
@click.option(
    "--every",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between refreshes with --watch.",
)
@click.option(
    "--times",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="With --watch: stop after N reads.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one line per read).")
@db_options
@click.pass_context
def stats(
    ctx: click.Context,
    app_id: str | None,
    watch: bool,
    every: float,
    times: int | None,
    as_json: bool,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Backlog per topic (messages ready, age of the oldest), jobs per status,
    and jobs started, ended and failed in the last minute."""
    url, schema_name = settings(ctx, dsn, schema)
    out = console()
    reads = times if watch else 1

    async def go() -> None:
        async with store(url, schema_name) as opened:
            app = await pick_app(opened, app_id)
            done = 0
            while reads is None or done < reads:
                if done:
                    await asyncio.sleep(every)
                figures = await opened.stats(app)
                done += 1
                if as_json:
                    click.echo(json.dumps(as_document(app, figures)))
                    continue
                if watch and out.is_terminal:
                    out.clear()
                if watch:
                    out.print(f"[dim]{datetime.now(UTC):%H:%M:%S} UTC[/]")
                out.print(render(app, figures))

    try:
        run(go())
    except KeyboardInterrupt:  # --watch ends with Ctrl-C
        pass
