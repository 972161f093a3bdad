"""workflow: list, describe, query, update and signal MemFlow workflows (the group
and its shared options; cancel, terminate, reset in ``workflow_control``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from rich.markup import escape
from rich.table import Table

from hotmesh import MemFlow, errors
from hotmesh.cli import cli
from hotmesh.cli.common import check_id, console, db_options, dumps, run, settings, when
from hotmesh.cli.worker_cmds import load_callable
from hotmesh.memflow import registry
from hotmesh.memflow.classes import workflow_function
from hotmesh.memflow.client import Client, WorkflowHandle
from hotmesh.memflow.manage import STATUSES

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
_STYLE = {
    "running": "yellow",
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
    "terminated": "red",
    "timed_out": "red",
}


@cli.group()
def workflow() -> None:
    """MemFlow workflows: list, describe, query, update, signal, cancel, terminate,
    reset, history."""


def _options(fn: F) -> F:
    """``--namespace`` and the database options."""
    fn = click.option(
        "--namespace",
        "-n",
        default="memflow",
        show_default=True,
        envvar="HOTMESH_NAMESPACE",
        show_envvar=True,
        help="The MemFlow namespace (app id) the workflows run in.",
    )(fn)
    return db_options(fn)


def _json_flag(command: str) -> Callable[[F], F]:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        envvar=f"HOTMESH_WORKFLOW_{command.upper()}_JSON",
        show_envvar=True,
        help="Print JSON instead of tables.",
    )


def _args_option(fn: F) -> F:
    return click.option(
        "--args",
        "args_json",
        default="[]",
        show_default=True,
        envvar="HOTMESH_ARGS",
        show_envvar=True,
        metavar="JSON",
        help="The handler's arguments, a JSON array.",
    )(fn)


def _parse_args(text: str) -> list[Any]:
    try:
        args = json.loads(text)
    except ValueError as exc:
        raise errors.ConfigError(f"--args is not valid JSON: {exc}") from None
    if not isinstance(args, list):
        raise errors.ConfigError("--args must be a JSON array")
    return args


def _call(
    ctx: click.Context,
    dsn: str | None,
    schema: str | None,
    namespace: str,
    work: Callable[[Client], Awaitable[T]],
) -> T:
    """Run ``work`` with a client on the chosen database, closed after."""
    check_id(namespace, "namespace")
    url, schema_name = settings(ctx, dsn, schema)
    config = {"connection": {"dsn": url, "schema": schema_name}, "namespace": namespace}

    async def go() -> T:
        client = MemFlow.Client(config)
        try:
            return await work(client)
        finally:
            await client.close()

    return run(go())


async def _handle(client: Client, workflow_id: str) -> WorkflowHandle[Any]:
    """A handle on an existing workflow; a one-line error when there is none."""
    check_id(workflow_id, "workflow id")
    hm = await client.mesh()
    job = await hm.engine.read(workflow_id, include_expired=True)
    if job is None:
        raise click.ClickException(
            f"no workflow '{workflow_id}' in namespace '{client.namespace}' "
            "(see `hotmesh workflow list`)"
        )
    return client.workflow.get_handle(
        str(job.data.get("taskQueue") or ""),
        str(job.data.get("workflowName") or ""),
        workflow_id,
    )


async def _ended_as(handle: WorkflowHandle[Any], what: str) -> click.ClickException:
    """The error for a workflow that has ended, saying how it ended."""
    status = (await handle.describe())["status"]
    return click.ClickException(
        f"workflow '{handle.workflow_id}' has already ended ({status}): "
        f"nothing to {what}"
    )


def _status(status: str) -> str:
    return f"[{_STYLE.get(status, 'white')}]{status}[/]"


# --------------------------------------------------------------------------
# reading


def _search_filter(pairs: tuple[str, ...]) -> dict[str, Any] | None:
    """``field=value`` pairs; a value that parses as JSON is taken as such."""
    if not pairs:
        return None
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise errors.ConfigError(f"--search {pair!r}: use FIELD=VALUE")
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text
    return out


@workflow.command("list")
@click.option(
    "--workflow-name",
    "-w",
    envvar="HOTMESH_WORKFLOW_NAME",
    show_envvar=True,
    help="Only workflows of this function.",
)
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    envvar="HOTMESH_WORKFLOW_STATUS",
    show_envvar=True,
    help="Only workflows with this outcome.",
)
@click.option(
    "--task-queue",
    "-q",
    envvar="HOTMESH_TASK_QUEUE",
    show_envvar=True,
    help="Only workflows on this task queue.",
)
@click.option(
    "--started-after",
    metavar="ISO",
    envvar="HOTMESH_STARTED_AFTER",
    show_envvar=True,
    help="Only workflows started after this time (ISO 8601).",
)
@click.option(
    "--started-before",
    metavar="ISO",
    envvar="HOTMESH_STARTED_BEFORE",
    show_envvar=True,
    help="Only workflows started before this time (ISO 8601).",
)
@click.option(
    "--search",
    "-s",
    "search_pairs",
    multiple=True,
    metavar="FIELD=VALUE",
    envvar="HOTMESH_SEARCH",
    show_envvar=True,
    help="Only workflows whose search field equals VALUE (JSON, else text); repeat.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    envvar="HOTMESH_LIMIT",
    show_envvar=True,
    help="At most this many workflows, newest first.",
)
@click.option(
    "--cursor",
    envvar="HOTMESH_CURSOR",
    show_envvar=True,
    help="The next page: the cursor a previous list printed.",
)
@_json_flag("list")
@_options
@click.pass_context
def workflow_list(
    ctx: click.Context,
    workflow_name: str | None,
    status: str | None,
    task_queue: str | None,
    started_after: str | None,
    started_before: str | None,
    search_pairs: tuple[str, ...],
    limit: int,
    cursor: str | None,
    as_json: bool,
    namespace: str,
    dsn: str | None,
    schema: str | None,
) -> None:
    """List workflows, newest first, with their outcome."""
    search = _search_filter(search_pairs)

    async def work(client: Client) -> Any:
        return await client.list_workflows(
            workflow_name=workflow_name,
            status=status,
            task_queue=task_queue,
            started_after=started_after,
            started_before=started_before,
            search=search,
            limit=limit,
            cursor=cursor,
        )

    page = _call(ctx, dsn, schema, namespace, work)
    if as_json:
        click.echo(dumps({"workflows": page.workflows, "cursor": page.cursor}))
        return
    out = console()
    if not page.workflows:
        out.print("no workflows")
        return
    table = Table(
        "workflow", "name", "task queue", "status", "started (UTC)", "updated (UTC)"
    )
    for item in page.workflows:
        table.add_row(
            escape(item["workflow_id"]),
            escape(str(item["workflow_name"] or "")),
            escape(str(item["task_queue"] or "")),
            _status(item["status"]),
            when(item["started_at"]),
            when(item["updated_at"]),
        )
    out.print(table)
    if page.cursor is not None:
        click.echo(f"more: --cursor {page.cursor}", err=True)


@workflow.command("describe")
@click.argument("workflow_id")
@_json_flag("describe")
@_options
@click.pass_context
def workflow_describe(
    ctx: click.Context,
    workflow_id: str,
    as_json: bool,
    namespace: str,
    dsn: str | None,
    schema: str | None,
) -> None:
    """A workflow's status, times, open steps, search fields and error."""

    async def work(client: Client) -> dict[str, Any]:
        return await (await _handle(client, workflow_id)).describe()

    about = _call(ctx, dsn, schema, namespace, work)
    if as_json:
        click.echo(dumps(about))
        return
    out = console()
    main = Table("field", "value", title=f"workflow {escape(workflow_id)}")
    for key in ("workflow_name", "task_queue", "status", "started_at", "updated_at"):
        value = about.get(key)
        if key == "status":
            text = _status(str(value))
        elif key.endswith("_at"):
            text = when(value)
        else:
            text = escape(str(value or ""))
        main.add_row(key.replace("_", " "), text)
    error = about.get("error")
    if error:
        text = f"{error.get('type', 'Error')}: {error.get('message', '')}"
        main.add_row("error", f"[red]{escape(text)}[/]")
    for name, value in sorted((about.get("search") or {}).items()):
        main.add_row(f"search: {escape(name)}", escape(json.dumps(value)))
    out.print(main)
    _pending_tables(out, about)


def _pending_tables(out: Any, about: dict[str, Any]) -> None:
    """The open activities (attempts, last failure) and children of ``describe``."""
    activities = about.get("pending_activities") or []
    if activities:
        table = Table("activity", "attempt", "last failure", title="pending activities")
        for act in activities:
            failure = act.get("last_failure") or {}
            text = ""
            if failure:
                text = f"{failure.get('type', 'Error')}: {failure.get('message', '')}"
            table.add_row(
                escape(str(act.get("activity"))), str(act.get("attempt")), escape(text)
            )
        out.print(table)
    children = about.get("pending_children") or []
    if children:
        table = Table("child workflow", "name", title="pending children")
        for child in children:
            table.add_row(
                escape(str(child.get("workflow_id"))),
                escape(str(child.get("workflow_name") or "")),
            )
        out.print(table)
    steps = about.get("pending") or []
    if steps:
        table = Table("step", "type", "started (UTC)", title="open steps")
        for item in steps:
            table.add_row(
                escape(str(item.get("activity"))),
                escape(str(item.get("type"))),
                when(item.get("started_at")),
            )
        out.print(table)


# --------------------------------------------------------------------------
# handlers


@workflow.command("query")
@click.argument("workflow_id")
@click.argument("name")
@_args_option
@click.option(
    "--workflow",
    "-W",
    "function_spec",
    metavar="MODULE:FUNCTION",
    envvar="HOTMESH_WORKFLOW",
    show_envvar=True,
    help="The workflow's code (function or @defn class): a query replays the "
    "workflow's history here to answer.",
)
@_options
@click.pass_context
def workflow_query(
    ctx: click.Context,
    workflow_id: str,
    name: str,
    args_json: str,
    function_spec: str | None,
    namespace: str,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Ask query handler NAME; print its answer as JSON (nothing is recorded)."""
    args = _parse_args(args_json)
    if not function_spec:
        raise errors.ConfigError(
            "a query replays the workflow in this process: pass --workflow "
            "MODULE:FUNCTION (the workflow's code)"
        )
    fn = workflow_function(load_callable(function_spec))

    async def work(client: Client) -> Any:
        handle = await _handle(client, workflow_id)
        _register(client, handle, fn)
        return await handle.query(name, *args)

    click.echo(dumps(_call(ctx, dsn, schema, namespace, work)))


def _register(client: Client, handle: WorkflowHandle[Any], fn: Any) -> None:
    """Register the workflow's code in this process (no worker: replays only)."""
    if fn.__name__ != handle.workflow_name:
        raise errors.ConfigError(
            f"workflow '{handle.workflow_id}' runs '{handle.workflow_name}', "
            f"not --workflow '{fn.__name__}'"
        )
    registry.add_workflow(client.namespace, handle.task_queue, fn)


@workflow.command("update")
@click.argument("workflow_id")
@click.argument("name")
@_args_option
@click.option(
    "--update-id",
    envvar="HOTMESH_UPDATE_ID",
    show_envvar=True,
    help="The update's id: the same id again applies it once (default: a new one).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    envvar="HOTMESH_TIMEOUT",
    show_envvar=True,
    help="Seconds to wait for the update's outcome.",
)
@_options
@click.pass_context
def workflow_update(
    ctx: click.Context,
    workflow_id: str,
    name: str,
    args_json: str,
    update_id: str | None,
    timeout: float,
    namespace: str,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Apply update NAME (its workers validate and run it); print its value as JSON."""
    args = _parse_args(args_json)

    async def work(client: Client) -> Any:
        handle = await _handle(client, workflow_id)
        try:
            return await handle.execute_update(
                name, *args, update_id=update_id, timeout=timeout
            )
        except errors.JobInactiveError:
            raise await _ended_as(handle, "update") from None

    click.echo(dumps(_call(ctx, dsn, schema, namespace, work)))


@workflow.command("signal")
@click.argument("workflow_id")
@click.argument("name")
@_args_option
@_options
@click.pass_context
def workflow_signal(
    ctx: click.Context,
    workflow_id: str,
    name: str,
    args_json: str,
    namespace: str,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Send signal NAME (kept until the workflow registers a handler for it)."""
    args = _parse_args(args_json)

    async def work(client: Client) -> None:
        handle = await _handle(client, workflow_id)
        try:
            await handle.signal(name, *args)
        except errors.JobInactiveError:
            raise await _ended_as(handle, "signal") from None

    _call(ctx, dsn, schema, namespace, work)
    click.echo(f"signal '{name}' sent to workflow '{workflow_id}'")
