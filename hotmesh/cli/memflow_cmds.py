"""memflow: run code-first workflow and activity workers, start workflows, read results."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

import click

from hotmesh import MemFlow, errors
from hotmesh.cli import cli
from hotmesh.cli.common import check_id, db_options, dumps, run, settings
from hotmesh.cli.worker_cmds import codec_option as _codec_option
from hotmesh.cli.worker_cmds import load_callable, load_object


@cli.group()
def memflow() -> None:
    """Code-first workflows (MemFlow): workers, start, result."""


def _connection(dsn: str, schema: str, codec: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"connection": {"dsn": dsn, "schema": schema}}
    if codec:
        config["codec"] = load_object(codec, "codec")
    return config


@memflow.command("worker")
@click.argument("workflows", nargs=-1, metavar="MODULE:FUNCTION...")
@click.option(
    "--task-queue",
    "-q",
    required=True,
    envvar="HOTMESH_TASK_QUEUE",
    show_envvar=True,
    help="The task queue the workflows (and activities) listen on.",
)
@click.option(
    "--activities",
    "-a",
    "activity_specs",
    multiple=True,
    envvar="HOTMESH_ACTIVITIES",
    show_envvar=True,
    metavar="MODULE:FUNCTION",
    help="An activity function to run on --activity-queue (repeat the option).",
)
@click.option(
    "--activity-queue",
    envvar="HOTMESH_ACTIVITY_QUEUE",
    show_envvar=True,
    help="Task queue of the --activities (default: --task-queue).",
)
@_codec_option
@db_options
@click.pass_context
def memflow_worker(
    ctx: click.Context,
    workflows: tuple[str, ...],
    task_queue: str,
    activity_specs: tuple[str, ...],
    activity_queue: str | None,
    codec: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Run workflow functions (and activity functions) until Ctrl-C or SIGTERM.

    Each MODULE:FUNCTION (or path/file.py:function) is an async workflow
    function, started by name with `hotmesh memflow start`. Run as many of
    these processes as you like; they share the work.
    """
    if not workflows and not activity_specs:
        raise errors.ConfigError("give at least one workflow or --activities function")
    check_id(task_queue, "task queue")
    functions = [load_callable(spec) for spec in workflows]
    activities = [load_callable(spec) for spec in activity_specs]
    url, schema_name = settings(ctx, dsn, schema)
    run(
        _serve(
            _connection(url, schema_name, codec),
            task_queue,
            functions,
            activities,
            activity_queue,
        )
    )


async def _serve(
    config: dict[str, Any],
    task_queue: str,
    functions: list[Any],
    activities: list[Any],
    activity_queue: str | None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started: list[Any] = []
    try:
        if activities:
            started.append(
                await MemFlow.register_activity_worker(
                    {**config, "task_queue": activity_queue or task_queue}, activities
                )
            )
        for function in functions:
            started.append(
                await MemFlow.Worker.create(
                    {**config, "task_queue": task_queue, "workflow": function}
                )
            )
        names = ", ".join(f.__name__ for f in [*functions, *activities])
        click.echo(f"hotmesh: memflow worker ready on {task_queue} ({names})", err=True)
        await stop.wait()
        click.echo("hotmesh: stopping (finishing in-flight work)", err=True)
    finally:
        for worker in reversed(started):
            await worker.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


@memflow.command("start")
@click.argument("workflow_name")
@click.option(
    "--task-queue",
    "-q",
    required=True,
    envvar="HOTMESH_TASK_QUEUE",
    show_envvar=True,
    help="The task queue its workers listen on.",
)
@click.option(
    "--args",
    "args_json",
    default="[]",
    show_default=True,
    envvar="HOTMESH_ARGS",
    show_envvar=True,
    metavar="JSON",
    help="The workflow's arguments, a JSON array.",
)
@click.option(
    "--id",
    "workflow_id",
    envvar="HOTMESH_WORKFLOW_ID",
    show_envvar=True,
    help="The workflow id (default: a random one).",
)
@click.option(
    "--wait/--no-wait",
    default=False,
    envvar="HOTMESH_WAIT",
    show_envvar=True,
    help="Wait for the result and print it.",
)
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    envvar="HOTMESH_TIMEOUT",
    show_envvar=True,
    help="Seconds to wait with --wait.",
)
@_codec_option
@db_options
@click.pass_context
def memflow_start(
    ctx: click.Context,
    workflow_name: str,
    task_queue: str,
    args_json: str,
    workflow_id: str | None,
    wait: bool,
    timeout: float,
    codec: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Start WORKFLOW_NAME on --task-queue; print its id (or, with --wait, its result)."""
    try:
        args = json.loads(args_json)
    except ValueError as exc:
        raise errors.ConfigError(f"--args is not valid JSON: {exc}") from None
    if not isinstance(args, list):
        raise errors.ConfigError("--args must be a JSON array")
    url, schema_name = settings(ctx, dsn, schema)
    out = run(
        _start(
            _connection(url, schema_name, codec),
            workflow_name,
            task_queue,
            args,
            workflow_id,
            wait,
            timeout,
        )
    )
    click.echo(out)


async def _start(
    config: dict[str, Any],
    name: str,
    task_queue: str,
    args: list[Any],
    workflow_id: str | None,
    wait: bool,
    timeout: float,
) -> str:
    client = MemFlow.Client(config)
    try:
        handle = await client.workflow.start(
            args=args,
            task_queue=task_queue,
            workflow_name=name,
            workflow_id=workflow_id,
        )
        if not wait:
            return str(handle.workflow_id)
        return await _wait(handle, timeout)
    finally:
        await client.close()


@memflow.command("result")
@click.argument("workflow_id")
@click.option(
    "--task-queue",
    "-q",
    required=True,
    envvar="HOTMESH_TASK_QUEUE",
    show_envvar=True,
    help="The workflow's task queue.",
)
@click.option(
    "--workflow-name",
    "-w",
    required=True,
    envvar="HOTMESH_WORKFLOW_NAME",
    show_envvar=True,
    help="The workflow's function name.",
)
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    envvar="HOTMESH_TIMEOUT",
    show_envvar=True,
    help="Seconds to wait.",
)
@_codec_option
@db_options
@click.pass_context
def memflow_result(
    ctx: click.Context,
    workflow_id: str,
    task_queue: str,
    workflow_name: str,
    timeout: float,
    codec: str | None,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Wait for a workflow's result (from any process) and print it as JSON."""
    url, schema_name = settings(ctx, dsn, schema)
    click.echo(
        run(
            _result(
                _connection(url, schema_name, codec),
                workflow_id,
                task_queue,
                workflow_name,
                timeout,
            )
        )
    )


async def _result(
    config: dict[str, Any], workflow_id: str, task_queue: str, name: str, timeout: float
) -> str:
    client = MemFlow.Client(config)
    try:
        return await _wait(
            client.workflow.get_handle(task_queue, name, workflow_id), timeout
        )
    finally:
        await client.close()


async def _wait(handle: Any, timeout: float) -> str:
    """The workflow's result as JSON, or a one-line timeout error."""
    try:
        return dumps(await asyncio.wait_for(handle.result(), timeout))
    except TimeoutError:
        raise errors.TimeoutError(
            f"workflow '{handle.workflow_id}' did not finish within {timeout:g}s; "
            f"it keeps running: follow it with `hotmesh status {handle.workflow_id}`"
        ) from None
