"""MemFlow workers: workflow and activity consumers on HotMesh worker streams."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from hotmesh import errors
from hotmesh.memflow import registry, runner
from hotmesh.memflow.workflow import _functions, activity_topic, system_topic
from hotmesh.mesh import HotMesh
from hotmesh.resources import package_file

DEFAULT_NAMESPACE = "memflow"
#: version of the built-in graph (bump with every change to memflow.yaml)
GRAPH_VERSION = "1"
_deployed: set[tuple[str, str]] = set()
_meshes: set[HotMesh] = set()


def namespace_of(config: Mapping[str, Any]) -> str:
    """The namespace (HotMesh app id) a config names; ``memflow`` by default."""
    return str(config.get("namespace") or DEFAULT_NAMESPACE)


def graph_text(namespace: str) -> str:
    """The built-in app manifest for ``namespace``."""
    text = package_file("hotmesh.memflow", "memflow.yaml").read_text(encoding="utf-8")
    return text.replace("memflow", namespace)


def _engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    connection = dict(config.get("connection") or {})
    options = dict(connection.pop("options", None) or {})
    options["connection"] = {"dsn": connection.get("dsn")}
    for key in ("schema", "pool_size", "capacity", "lease", "poll"):
        if key in connection:
            options[key] = connection[key]
    return options


async def open_mesh(
    config: Mapping[str, Any], workers: list[dict[str, Any]] | None = None
) -> HotMesh:
    """A HotMesh on the namespace's app, with the built-in graph deployed and active."""
    namespace = namespace_of(config)
    options = _engine_options(config)
    hm = await HotMesh.init(app_id=namespace, engine=options, workers=workers)
    key = (str(options["connection"].get("dsn")), namespace)
    if key not in _deployed or hm.engine.active != GRAPH_VERSION:
        try:
            await hm.deploy(graph_text(namespace))
            if hm.engine.active != GRAPH_VERSION:
                await hm.activate(GRAPH_VERSION)
        except BaseException:
            await hm.stop()
            raise
        _deployed.add(key)
    _meshes.add(hm)
    return hm


def _system_ops(
    namespace: str, hm: asyncio.Future[HotMesh]
) -> dict[str, runner.SystemOp]:
    async def signal(args: list[Any]) -> Any:
        mesh = await hm
        key, data = args[0], args[1]
        send = getattr(mesh, "signal", None)
        if send is None:
            raise errors.WorkflowError("this engine cannot deliver signals yet")
        await send(f"{namespace}.wfs.wait", {"id": key, "data": data})
        return True

    async def interrupt(args: list[Any]) -> Any:
        mesh = await hm
        job_id, reason, options = args[0], args[1], dict(args[2] or {})
        stop = getattr(mesh, "interrupt", None)
        if stop is None:
            raise errors.WorkflowError("this engine cannot interrupt jobs yet")
        await stop(f"{namespace}.execute", job_id, reason=reason, **options)
        return True

    async def emit(args: list[Any]) -> Any:
        mesh = await hm
        send = getattr(mesh, "emit_event", None) or getattr(mesh, "publish", None)
        if send is None:
            raise errors.WorkflowError("this engine cannot publish user events yet")
        for topic, payload in dict(args[0]).items():
            await send(topic, payload)
        return True

    async def hook(args: list[Any]) -> Any:
        mesh = await hm
        target, name, hook_args, queue = args
        counter = uuid.uuid4().hex[:12]
        await mesh.pub(
            f"{namespace}.execute",
            {
                "arguments": hook_args,
                "workflowId": f"{target}-hook-{name}-{counter}",
                "workflowName": name,
                "taskQueue": queue,
                "target": target,
                "originJobId": target,
            },
        )
        return f"{target}-hook-{name}-{counter}"

    return {"signal": signal, "interrupt": interrupt, "emit": emit, "hook": hook}


def system_worker(namespace: str) -> tuple[dict[str, Any], asyncio.Future[HotMesh]]:
    """The worker of built-in side effects, and the future its HotMesh fills."""
    holder: asyncio.Future[HotMesh] = asyncio.get_running_loop().create_future()
    ops = _system_ops(namespace, holder)

    async def callback(message: dict[str, Any]) -> dict[str, Any]:
        return await runner.run_system(ops, message)

    return {"topic": system_topic(namespace), "callback": callback}, holder


def _workflow_fn(workflow: Any) -> Callable[..., Any]:
    if callable(workflow):
        return workflow  # type: ignore[no-any-return]
    if isinstance(workflow, Mapping) and workflow:
        return list(workflow.values())[-1]  # type: ignore[no-any-return]
    funcs = list(_functions(workflow).values())
    if not funcs:
        raise errors.ConfigError("Worker.create needs a workflow function")
    return funcs[-1]


class Worker:
    """Runs one workflow function (activations) and the task queue's activities."""

    def __init__(self, mesh: HotMesh, task_queue: str, workflow_name: str) -> None:
        self.mesh = mesh
        self.task_queue = task_queue
        self.workflow_name = workflow_name

    @classmethod
    async def create(cls, config: Mapping[str, Any]) -> Worker:
        """Register the workflow and start consuming ``<task_queue>`` (spec §7.2)."""
        namespace = namespace_of(config)
        queue = config.get("task_queue") or config.get("taskQueue")
        if not isinstance(queue, str) or not queue:
            raise errors.ConfigError("Worker.create needs a task_queue")
        fn = _workflow_fn(config.get("workflow"))
        name = registry.add_workflow(namespace, queue, fn)
        activities = _functions(config.get("activities"))
        if activities:
            registry.add_activities(namespace, activity_topic(queue), activities)
        options = dict(config.get("options") or {})

        async def activation(message: dict[str, Any]) -> dict[str, Any]:
            return await runner.activate(namespace, message)

        topic = activity_topic(queue)

        async def activity(message: dict[str, Any]) -> dict[str, Any]:
            return await runner.run_activity(namespace, topic, message)

        system, holder = system_worker(namespace)
        workers = [
            {
                "topic": queue,
                "callback": activation,
                "capacity": int(options.get("capacity", 64)),
            },
            {
                "topic": topic,
                "callback": activity,
                "capacity": int(options.get("activity_capacity", 64)),
            },
            system,
        ]
        hm = await open_mesh(config, workers)
        holder.set_result(hm)
        return cls(hm, queue, name)

    async def run(self) -> None:
        """Workers run from ``create`` on; kept for upstream's shape."""

    async def stop(self) -> None:
        """Stop consuming (in-flight work finishes)."""
        _meshes.discard(self.mesh)
        await self.mesh.stop()


class ActivityWorker:
    """Runs activities on ``<task_queue>-activity``."""

    def __init__(self, mesh: HotMesh, topic: str) -> None:
        self.mesh = mesh
        self.topic = topic

    async def stop(self) -> None:
        """Stop consuming."""
        _meshes.discard(self.mesh)
        await self.mesh.stop()


async def register_activity_worker(
    config: Mapping[str, Any], activities: Any, activity_task_queue: str | None = None
) -> ActivityWorker:
    """Serve ``activities`` (module, dict or functions) on ``<queue>-activity``."""
    namespace = namespace_of(config)
    queue = activity_task_queue or config.get("task_queue") or config.get("taskQueue")
    if not isinstance(queue, str) or not queue:
        raise errors.ConfigError("register_activity_worker needs a task_queue")
    topic = activity_topic(queue)
    registry.add_activities(namespace, topic, _functions(activities))

    async def activity(message: dict[str, Any]) -> dict[str, Any]:
        return await runner.run_activity(namespace, topic, message)

    capacity = int(dict(config.get("options") or {}).get("capacity", 64))
    hm = await open_mesh(
        config, [{"topic": topic, "callback": activity, "capacity": capacity}]
    )
    return ActivityWorker(hm, topic)


async def shutdown() -> None:
    """Stop every MemFlow worker and client connection of this process."""
    meshes = list(_meshes)
    _meshes.clear()
    await asyncio.gather(*(m.stop() for m in meshes))
