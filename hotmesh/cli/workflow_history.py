"""workflow history: a MemFlow workflow's recorded history, for the replayer."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from hotmesh.cli.common import console, dumps
from hotmesh.cli.worker_cmds import codec_option, load_object
from hotmesh.cli.workflow_cmds import _call, _handle, _json_flag, _options, workflow
from hotmesh.memflow import codec as payload_codec
from hotmesh.memflow.client import Client
from hotmesh.memflow.context import marker_name

#: characters of a value a table cell shows
CELL = 60


def _cell(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return escape(text if len(text) <= CELL else text[: CELL - 3] + "...")


def _asked(step: dict[str, Any]) -> str:
    """What the step asked for: its arguments, duration or wait key."""
    if "args" in step:
        return _cell(step["args"])
    if "duration" in step:
        return f"{step['duration']} s"
    return escape(str(step.get("key") or ""))


def _outcome(state: dict[str, Any], step: dict[str, Any]) -> str:
    """The step's recorded result (or error); empty while it is open."""
    key = marker_name(str(step["kind"]), int(step["generation"]), int(step["index"]))
    value = state.get(key)
    if not isinstance(value, dict):
        return "[yellow]open[/]"
    if "error" in value:
        return f"[red]{_cell(value['error'])}[/]"
    return _cell(value.get("data"))


@workflow.command("history")
@click.argument("workflow_id")
@_json_flag("history")
@codec_option
@_options
@click.pass_context
def workflow_history(
    ctx: click.Context,
    workflow_id: str,
    as_json: bool,
    codec: str | None,
    namespace: str,
    dsn: str | None,
    schema: str | None,
) -> None:
    """A workflow's recorded steps; --json gives the history that
    MemFlow.Replayer(workflows=[...]).replay(history) checks new code against
    (payloads stored by a codec decoded with --codec)."""
    decoder = (
        payload_codec.check(load_object(codec, "codec"), "--codec") if codec else None
    )

    async def work(client: Client) -> dict[str, Any]:
        client.codec = decoder
        return await (await _handle(client, workflow_id)).fetch_history()

    history = _call(ctx, dsn, schema, namespace, work)
    if as_json:
        click.echo(dumps(history))
        return
    out = console()
    title = (
        f"workflow {escape(workflow_id)} ({escape(str(history['workflow_name']))}, "
        f"{history['status']})"
    )
    table = Table("gen", "step", "kind", "name", "asked", "result", title=title)
    state = history.get("state") or {}
    for step in history["steps"]:
        table.add_row(
            str(step["generation"]),
            str(step["index"]),
            escape(str(step["kind"])),
            escape(str(step.get("name") or "")),
            _asked(step),
            _outcome(state, step),
        )
    out.print(table)
    if not history["steps"]:
        out.print("no steps recorded yet")
