"""hotmesh schedule create|list|describe|update|pause|resume|trigger|delete."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from rich.markup import escape
from rich.table import Table

from hotmesh.cli import cli
from hotmesh.cli.common import (
    app_option,
    client,
    console,
    data_option,
    db_options,
    dumps,
    parse_data,
    pick_app,
    run,
    settings,
    store,
    when,
)
from hotmesh.mesh import HotMesh

T = TypeVar("T")


def _timing_options(fn: Any) -> Any:
    """The options ``create`` and ``update`` share."""
    for name, text in reversed(
        [
            (
                "--cron",
                "Cron expression (5 fields, 6 with leading seconds, or @daily...).",
            ),
            ("--every", "Period, e.g. 30s, 15m, 2h."),
            ("--timezone", "IANA time zone of the cron fields  [default: UTC]"),
            ("--start-at", "ISO date-time with offset: no tick before it."),
            ("--end-at", "ISO date-time with offset: no tick after it."),
            ("--jitter", "Delay each tick by up to this long, e.g. 30s."),
            ("--overlap", "skip | buffer_one | allow  [default: skip]"),
            ("--catchup", "skip | latest | all  [default: skip]"),
            ("--catchup-window", "How far back catch-up looks  [default: 1h]"),
        ]
    ):
        fn = click.option(name, default=None, help=text)(fn)
    return fn


def _options(values: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "cron",
        "every",
        "timezone",
        "start_at",
        "end_at",
        "jitter",
        "overlap",
        "catchup",
        "catchup_window",
    )
    return {k: values[k] for k in keys if values.get(k) is not None}


def _with_mesh(
    ctx: click.Context,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
    action: Callable[[HotMesh], Awaitable[T]],
) -> T:
    url, schema_name = settings(ctx, dsn, schema)

    async def go() -> T:
        async with store(url, schema_name) as opened:
            app = await pick_app(opened, app_id)
            return await action(client(opened, app))

    return run(go())


def _show(schedule: dict[str, Any]) -> None:
    out = console()
    timing = schedule["cron"] or f"every {schedule['every']:g}s"
    state = "paused" if schedule["paused"] else "active"
    out.print(
        f"[bold]{escape(schedule['id'])}[/] ({state}) -> topic {escape(schedule['topic'])}"
    )
    out.print(f"  timing:   {escape(timing)} ({escape(schedule['timezone'])})")
    out.print(
        f"  policies: overlap {schedule['overlap']}, catchup {schedule['catchup']} "
        f"(window {schedule['catchup_window']:g}s), jitter {schedule['jitter']:g}s"
    )
    if schedule.get("version"):
        out.print(f"  from manifest version {escape(schedule['version'])}")
    out.print(f"  data:     {escape(dumps(schedule['data']))}")
    out.print(f"  next:     {when(schedule['next_fire_at'])}")
    for t in schedule.get("upcoming", [])[1:]:
        out.print(f"            {when(t)}")
    runs = schedule.get("recent_runs")
    if runs:
        table = Table("scheduled (UTC)", "outcome", "job")
        for r in runs:
            table.add_row(
                when(r["scheduled_at"]), escape(r["outcome"]), escape(r["job_id"] or "")
            )
        out.print(table)


@cli.group()
def schedule() -> None:
    """Durable cron and interval schedules (every running engine fires them)."""


@schedule.command("create")
@click.argument("schedule_id")
@click.argument("topic")
@data_option()
@_timing_options
@click.option("--paused", is_flag=True, help="Create it paused.")
@app_option()
@db_options
@click.pass_context
def create(
    ctx: click.Context,
    /,
    schedule_id: str,
    topic: str,
    data: str | None,
    paused: bool,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
    **values: Any,
) -> None:
    """Create SCHEDULE_ID starting a TOPIC job on a timetable (--cron or --every)."""
    payload = parse_data(data)
    options = _options(values)
    if paused:
        options["paused"] = True
    made = _with_mesh(
        ctx,
        app_id,
        dsn,
        schema,
        lambda hm: hm.schedules.create(schedule_id, topic, payload, **options),
    )
    console().print(
        f"created schedule {escape(made['id'])}; next fire {when(made['next_fire_at'])}"
    )


@schedule.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@app_option()
@db_options
@click.pass_context
def list_(
    ctx: click.Context,
    as_json: bool,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """List schedules with their timing and next fire time."""
    rows = _with_mesh(ctx, app_id, dsn, schema, lambda hm: hm.schedules.list())
    if as_json:
        click.echo(dumps(rows))
        return
    out = console()
    if not rows:
        out.print("no schedules")
        return
    table = Table("id", "topic", "timing", "zone", "state", "next fire (UTC)")
    for r in rows:
        timing = r["cron"] or f"every {r['every']:g}s"
        table.add_row(
            escape(r["id"]),
            escape(r["topic"]),
            escape(timing),
            escape(r["timezone"]),
            "paused" if r["paused"] else "active",
            when(r["next_fire_at"]),
        )
    out.print(table)


@schedule.command("describe")
@click.argument("schedule_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@app_option()
@db_options
@click.pass_context
def describe(
    ctx: click.Context,
    schedule_id: str,
    as_json: bool,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Show one schedule: options, next fire times and recent runs."""
    got = _with_mesh(ctx, app_id, dsn, schema, lambda hm: hm.schedules.get(schedule_id))
    if as_json:
        click.echo(dumps(got))
        return
    _show(got)


@schedule.command("update")
@click.argument("schedule_id")
@click.option("--topic", default=None, help="A new topic.")
@data_option()
@_timing_options
@app_option()
@db_options
@click.pass_context
def update(
    ctx: click.Context,
    /,
    schedule_id: str,
    topic: str | None,
    data: str | None,
    app_id: str | None,
    dsn: str | None,
    schema: str | None,
    **values: Any,
) -> None:
    """Change a schedule's topic, data or options (a new timing counts from now)."""
    changes = _options(values)
    if topic is not None:
        changes["topic"] = topic
    if data is not None:
        changes["data"] = parse_data(data)
    if not changes:
        raise click.UsageError("nothing to change: give --topic, --data or an option")
    got = _with_mesh(
        ctx, app_id, dsn, schema, lambda hm: hm.schedules.update(schedule_id, **changes)
    )
    console().print(
        f"updated schedule {escape(got['id'])}; next fire {when(got['next_fire_at'])}"
    )


def _simple(name: str, verb: str, doc: str) -> None:
    @schedule.command(name, help=doc)
    @click.argument("schedule_id")
    @app_option()
    @db_options
    @click.pass_context
    def command(
        ctx: click.Context,
        schedule_id: str,
        app_id: str | None,
        dsn: str | None,
        schema: str | None,
    ) -> None:
        result = _with_mesh(
            ctx,
            app_id,
            dsn,
            schema,
            lambda hm: getattr(hm.schedules, name)(schedule_id),
        )
        tail = f": job {result}" if isinstance(result, str) else ""
        console().print(f"{verb} schedule {escape(schedule_id)}{escape(tail)}")


_simple("pause", "paused", "Stop firing SCHEDULE_ID until resumed.")
_simple("resume", "resumed", "Fire SCHEDULE_ID again, from now on.")
_simple("trigger", "triggered", "Start SCHEDULE_ID's job now, outside its timetable.")
_simple("delete", "deleted", "Delete SCHEDULE_ID (the jobs it started are kept).")
