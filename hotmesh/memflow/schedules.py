"""``client.schedule``: durable schedules that start MemFlow workflows.

A thin layer over ``hm.schedules`` (``hotmesh.schedules``) on the MemFlow
app: each tick starts ``workflow_name`` on ``task_queue`` with ``args``, under
the workflow id ``<schedule id>:<scheduled time>``, so a tick starts one
workflow however many processes fire. Options are those of
``hm.schedules.create`` (``cron`` or ``every``, ``timezone``, ``start_at``,
``end_at``, ``jitter``, ``overlap``, ``catchup``, ``catchup_window``,
``paused``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hotmesh import errors
from hotmesh.durations import seconds
from hotmesh.memflow.classes import workflow_function
from hotmesh.memflow.converter import DataConverter
from hotmesh.memflow.signatures import encode_args

if TYPE_CHECKING:
    from hotmesh.memflow.client import Client
    from hotmesh.mesh import HotMesh

#: options that describe the workflow, not the timing
_WORKFLOW = ("args", "task_queue", "workflow_name", "expire", "search")


def _payload(
    conv: DataConverter,
    workflow_name: Any,
    args: Any,
    task_queue: Any,
    expire: Any,
    search: Mapping[str, Any] | None,
) -> dict[str, Any]:
    fn = workflow_function(workflow_name) if callable(workflow_name) else None
    if fn is not None:
        workflow_name = fn.__name__
    if not isinstance(workflow_name, str) or not workflow_name:
        raise errors.ConfigError("schedule.create needs a workflow_name")
    if not isinstance(task_queue, str) or not task_queue:
        raise errors.ConfigError("schedule.create needs a task_queue")
    if args is not None and not isinstance(args, (list, tuple)):
        raise errors.ConfigError(
            f"schedule option 'args': expected a list, not {type(args).__name__}"
        )
    what = f"schedule workflow '{workflow_name}'"
    payload: dict[str, Any] = {
        # stored as JSON once, as the client's start would store them
        "arguments": encode_args(conv, fn, list(args or []), what),
        "workflowName": workflow_name,
        "taskQueue": task_queue,
        "expire": seconds(expire, "schedule option 'expire'")
        if expire is not None
        else 60.0,
    }
    if search:
        payload["search"] = {
            f"_{k}": conv.to_json(v, f"{what} search field '{k}'")
            for k, v in search.items()
        }
    return payload


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A schedule as MemFlow shows it: the workflow instead of the raw payload."""
    data = row.get("data") or {}
    out = {k: v for k, v in row.items() if k not in ("data", "job_id_field")}
    out["workflow_name"] = data.get("workflowName")
    out["task_queue"] = data.get("taskQueue")
    out["args"] = data.get("arguments", [])
    return out


class ScheduleClient:
    """``client.schedule``: create, list, get, update, pause, resume, trigger, delete."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def _mesh(self) -> HotMesh:
        return await self._client.mesh()

    @property
    def _topic(self) -> str:
        return f"{self._client.namespace}.execute"

    async def create(
        self,
        workflow_name: str | Any,
        args: list[Any] | None = None,
        task_queue: str | None = None,
        schedule_id: str | None = None,
        *,
        expire: float | str | None = None,
        search: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Start ``workflow_name`` on ``task_queue`` with ``args`` at every tick.

        ``schedule_id`` defaults to the workflow's name; it prefixes the
        workflow id of each tick. ``ConfigError`` names a bad option;
        ``StoreConflictError`` if the id is taken.
        """
        conv = self._client.converter
        payload = _payload(conv, workflow_name, args, task_queue, expire, search)
        sid = schedule_id or payload["workflowName"]
        hm = await self._mesh()
        made = await hm.schedules.create(
            sid, self._topic, payload, job_id_field="workflowId", **options
        )
        return _public(made)

    async def list(self) -> list[dict[str, Any]]:
        """Every schedule of this namespace, with its next fire time."""
        hm = await self._mesh()
        return [
            _public(s) for s in await hm.schedules.list() if s["topic"] == self._topic
        ]

    async def get(
        self, schedule_id: str, upcoming: int = 5, runs: int = 10
    ) -> dict[str, Any]:
        """One schedule, its next fire times and its latest ticks (with workflow ids)."""
        hm = await self._mesh()
        return _public(await hm.schedules.get(schedule_id, upcoming, runs))

    async def update(self, schedule_id: str, **changes: Any) -> dict[str, Any]:
        """Change the timing or the workflow (``args``, ``task_queue``, ...)."""
        hm = await self._mesh()
        workflow = {k: changes.pop(k) for k in _WORKFLOW if k in changes}
        if workflow:
            row = await hm.schedules.get(schedule_id, 0, 0)
            current, data = _public(row), row["data"]
            changes["data"] = {
                **data,
                **_payload(
                    self._client.converter,
                    workflow.get("workflow_name", current["workflow_name"]),
                    workflow.get("args", current["args"]),
                    workflow.get("task_queue", current["task_queue"]),
                    workflow.get("expire", data.get("expire")),
                    workflow.get("search"),
                ),
            }
        return _public(await hm.schedules.update(schedule_id, **changes))

    async def pause(self, schedule_id: str) -> None:
        """Stop starting workflows until ``resume``."""
        await (await self._mesh()).schedules.pause(schedule_id)

    async def resume(self, schedule_id: str) -> None:
        """Start workflows again, from now on."""
        await (await self._mesh()).schedules.resume(schedule_id)

    async def trigger(self, schedule_id: str) -> str:
        """Start the workflow now; returns its workflow id."""
        return await (await self._mesh()).schedules.trigger(schedule_id)

    async def delete(self, schedule_id: str) -> None:
        """Delete the schedule (workflows it started go on)."""
        await (await self._mesh()).schedules.delete(schedule_id)
