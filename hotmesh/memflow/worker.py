"""MemFlow workers and the per-process connection they share.

Workers, activity workers and clients of one process share one HotMesh per
database and namespace: every stream is then local, so a step's new work
message is handed to its consumer in process instead of being claimed back
from the database (as a YAML app whose engine and workers share a process).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from hotmesh import errors, flow
from hotmesh.memflow import (
    attempts,
    closing,
    limits,
    registry,
    runner,
    spans,
    sticky,
    timeouts,
)
from hotmesh.memflow import codec as _codec
from hotmesh.memflow import interceptors as _interceptors
from hotmesh.memflow.classes import workflow_function
from hotmesh.memflow.config import (
    WORKER_KEYS,
    check_config,
    converter_of,
    engine_options,
    graph_text,
    namespace_of,
)
from hotmesh.memflow.proxy import _functions, activity_topic, system_topic
from hotmesh.mesh import HotMesh
from hotmesh.opening import Opening
from hotmesh.store.heartbeats import HeartbeatRows
from hotmesh.store.messages import MessageRows

#: version of the built-in graph (bump with every change to memflow.yaml)
GRAPH_VERSION = "9"


#: tries of an activation's inbox read while the database is away (about 35 s)
INBOX_TRIES = 20


@dataclass
class Connection:
    """One HotMesh shared by this process's MemFlow parts on a database+namespace."""

    mesh: HotMesh
    namespace: str
    key: tuple[Any, ...] = ()
    users: int = 0
    #: worker topics -> number of users that asked for them
    topics: dict[str, int] = field(default_factory=dict)
    #: activity topics' limits this process wrote (MemFlow's flow options)
    written: dict[str, flow.TopicLimits] = field(default_factory=dict)
    #: workflows with a cancellation in their inbox (told by NOTIFY, or read
    #: at start): an activation of one without handlers reads its inbox
    cancels: set[str] = field(default_factory=set)
    #: its workers' sticky caches (emptied when the connection stops)
    caches: list[sticky.Cache] = field(default_factory=list)

    async def drain(self) -> None:
        """Unwind the workflows its workers' caches hold."""
        for cache in self.caches:
            for entry in cache.drain():
                await runner.unwind(entry.ctx, entry.task)

    def env(self) -> attempts.Env:
        """What this process's activity attempts need (heartbeats, clock)."""
        return attempts.Env(
            HeartbeatRows(self.mesh.store), self.cancels, self.mesh.clock
        )

    def add(self, workers: list[dict[str, Any]]) -> list[str]:
        """Consume these worker topics (once per topic); returns the topics."""
        added = []
        for worker in workers:
            topic = str(worker["topic"])
            if topic not in self.topics:
                self.mesh.add_worker(worker)
            self.topics[topic] = self.topics.get(topic, 0) + 1
            added.append(topic)
        return added

    async def write_limits(self) -> None:
        """Write the task queue limits declared in this process since the last
        write (``proxy_activities``, ``Worker.create``); the database waits
        out an outage as a step's write does."""
        for topic, wanted in limits.declared(self.namespace).items():
            if self.written.get(topic) == wanted:
                continue
            delay = 0.05
            for attempt in range(INBOX_TRIES):
                try:
                    await self.mesh.flow.put(topic, wanted)
                    break
                except errors.RETRYABLE:
                    if attempt == INBOX_TRIES - 1:
                        raise
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            self.written[topic] = wanted

    async def release(self, topics: list[str]) -> None:
        """A user is done: stop its topics nobody else uses; the last one closes."""
        self.users -= 1
        for topic in topics:
            self.topics[topic] -= 1
            if self.topics[topic] == 0 and self.users > 0:
                del self.topics[topic]
                await self.mesh.remove_worker(topic)
        if self.users <= 0:
            _SHARED.pop(self.key, None)
            await self.mesh.stop()


_SHARED: dict[tuple[Any, ...], asyncio.Future[Connection]] = {}


async def _open(config: Mapping[str, Any], key: tuple[Any, ...]) -> Connection:
    namespace = namespace_of(config)
    spans.install(namespace)
    hm = await HotMesh.init(app_id=namespace, engine=engine_options(config))
    try:
        if hm.engine.active != GRAPH_VERSION:
            await hm.deploy(graph_text(namespace))
            await hm.activate(GRAPH_VERSION)
    except BaseException:
        await hm.stop()
        raise
    conn = Connection(hm, namespace, key)

    def cancel_told(_topic: str, message: Any) -> None:
        if isinstance(message, dict) and isinstance(message.get("id"), str):
            conn.cancels.add(message["id"])

    try:
        await hm.sub(cancel_topic(namespace), cancel_told)
        conn.cancels.update(await MessageRows(hm.store).cancels_pending(namespace))
    except BaseException:
        await hm.stop()
        raise
    conn.add([system_worker(namespace, hm)])
    conn.topics[system_topic(namespace)] = 1 << 30  # lives as long as the mesh
    return conn


async def connect(
    config: Mapping[str, Any], workers: list[dict[str, Any]] | None = None
) -> tuple[Connection, list[str]]:
    """This process's connection for ``config`` (opened, deployed), plus ``workers``."""
    options = engine_options(config)
    loop = asyncio.get_running_loop()
    key = (
        str(options["connection"].get("dsn")),
        namespace_of(config),
        str(options.get("schema", "hotmesh")),
        id(loop),
    )
    fut = _SHARED.get(key)
    if fut is not None and fut.done() and not fut.cancelled():
        if fut.exception() is not None or fut.result().mesh.stopped:
            fut = None
    if fut is None:
        fut = loop.create_task(_open(config, key))
        _SHARED[key] = fut
    try:
        conn = await asyncio.shield(fut)
    except BaseException:
        if _SHARED.get(key) is fut:
            _SHARED.pop(key, None)
        raise
    conn.users += 1
    return conn, conn.add(workers or [])


def cancel_topic(namespace: str) -> str:
    """The topic a cancellation is announced on, to every process."""
    return f"{namespace}.cancel.requested"


def applied_topic(namespace: str) -> str:
    """The topic on which a workflow that recorded update outcomes announces
    it (once committed) to every process: their callers read them at once."""
    return f"{namespace}.update.applied"


#: the start of an update outcome's job data field (``handlers.update_key``)
_UPDATE_FIELD = "-upd:"


def _system_ops(namespace: str, mesh: HotMesh) -> dict[str, runner.SystemOp]:
    async def signal(args: list[Any]) -> Any:
        key, data = args[0], args[1]
        # The target workflow's id (absent in messages of older versions):
        # the signal is kept while that workflow runs, refused once it ended.
        target = str(args[2]) if len(args) > 2 and args[2] else None
        await mesh.signal(
            f"{namespace}.wfs.wait",
            {"id": key, "data": data},
            keep=target is None,
            job_id=target,
        )
        return True

    async def interrupt(args: list[Any]) -> Any:
        job_id, reason, options = args[0], args[1], dict(args[2] or {})
        options.setdefault("suppress", True)
        await mesh.interrupt(f"{namespace}.execute", job_id, reason=reason, **options)
        return True

    async def emit(args: list[Any]) -> Any:
        events = args[0] if args and isinstance(args[0], dict) else {}
        for topic, message in events.items():
            await mesh.publish(str(topic), message)
        return True

    async def hook(args: list[Any]) -> Any:
        target, name, hook_args, queue, hook_id = args
        return await send_hook(mesh, namespace, target, name, hook_args, queue, hook_id)

    async def timeout(args: list[Any]) -> Any:
        return await timeouts.fire(mesh, namespace, args)

    return {
        "signal": signal,
        "interrupt": interrupt,
        "emit": emit,
        "hook": hook,
        "timeout": timeout,
    }


async def send_hook(
    mesh: HotMesh,
    namespace: str,
    target: str,
    name: str,
    args: list[Any] | dict[str, Any],
    queue: str,
    hook_id: str | None = None,
) -> str:
    """Start hook function ``name`` inside workflow ``target``'s job; returns its id.

    A 202 signal on the job's signal-in hook: each one runs in a new dimension.
    """
    job = await mesh.engine.read(target)
    if job is None:
        raise errors.JobNotFoundError(target)
    if job.data.get("signalIn") is not True:
        raise errors.WorkflowError(
            f"workflow '{target}' was not started with signal_in=True: it takes no hooks"
        )
    hook_id = hook_id or uuid.uuid4().hex[:16]
    payload = {
        "id": target,
        "hookId": hook_id,
        "workflowName": name,
        "arguments": args if isinstance(args, dict) else list(args),  # or sealed
        "taskQueue": queue,
    }
    await mesh.signal(
        f"{namespace}.flow.signal", payload, status="pending", code=202, job_id=target
    )
    return hook_id


def system_worker(namespace: str, mesh: HotMesh) -> dict[str, Any]:
    """The worker of built-in side effects (signal, interrupt, hook) of a workflow."""
    ops = _system_ops(namespace, mesh)

    async def callback(message: dict[str, Any]) -> dict[str, Any]:
        return await runner.run_system(ops, message)

    return {"topic": system_topic(namespace), "callback": callback}


def _workflow_fn(workflow: Any) -> Callable[..., Any]:
    if callable(workflow):
        return workflow_function(workflow)  # type: ignore[no-any-return]
    if isinstance(workflow, Mapping) and workflow:
        return list(workflow.values())[-1]  # type: ignore[no-any-return]
    funcs = list(_functions(workflow).values())
    if not funcs:
        raise errors.ConfigError("Worker.create needs a workflow function")
    return funcs[-1]


class _Part:
    """Something holding a share of a connection (stopped once)."""

    def __init__(self, conn: Connection, topics: list[str]) -> None:
        self.connection = conn
        self.mesh = conn.mesh
        self._topics = topics
        self._stopped = False

    async def stop(self) -> None:
        """Stop this part's consumers (in-flight work finishes)."""
        if not self._stopped:
            self._stopped = True
            await self.connection.release(self._topics)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class Worker(_Part):
    """Runs one workflow function (activations) and the task queue's activities."""

    task_queue: str
    workflow_name: str
    #: the workflows suspended between activations (``max_cached_workflows``)
    cache: sticky.Cache

    async def stop(self) -> None:
        """Stop consuming, then unwind the workflows the cache holds."""
        await super().stop()
        for entry in self.cache.drain():
            await runner.unwind(entry.ctx, entry.task)
        if self.cache in self.connection.caches:
            self.connection.caches.remove(self.cache)

    @classmethod
    def create(cls, config: Mapping[str, Any]) -> Opening[Worker]:
        """Register the workflow and start consuming ``<task_queue>``.

        ``worker = await Worker.create(config)``, or ``async with
        Worker.create(config) as worker:`` (stopped when the block ends).
        """
        return Opening(lambda: cls._create(config))

    @classmethod
    async def _create(cls, config: Mapping[str, Any]) -> Worker:
        check_config(config, WORKER_KEYS, "Worker.create")
        namespace = namespace_of(config)
        queue = config.get("task_queue") or config.get("taskQueue")
        if not isinstance(queue, str) or not queue:
            raise errors.ConfigError("Worker.create needs a task_queue")
        converter = converter_of(config)
        codec = _codec.check(config.get("codec"), "Worker.create")
        given_interceptors = _interceptors.check(
            config.get("interceptors"), "Worker.create"
        )
        chain = _interceptors.activity_chain(given_interceptors)
        _interceptors.register_workflow(namespace, queue, given_interceptors)
        fn = _workflow_fn(config.get("workflow"))
        name = registry.add_workflow(namespace, queue, fn)
        activities = _functions(config.get("activities"))
        if activities:
            registry.add_activities(namespace, activity_topic(queue), activities)
        options = dict(config.get("options") or {})
        # the task queue's limits, every process alike; a key is the proxy's
        given = limits.options(
            options.get("concurrency"),
            options.get("rate"),
            "Worker.create",
            keyed=False,
        )
        topic = activity_topic(queue)
        limits.declare(namespace, topic, given.declared)
        size = options.get("max_cached_workflows")
        cache = sticky.Cache(
            sticky.default_size()
            if size is None
            else sticky.size_of(size, "Worker.create options")
        )

        inbox: list[MessageRows] = []  # set once connected, before any activation
        opened: list[Connection] = []  # likewise
        told: list[set[str]] = []  # the connection's cancellations
        env: list[attempts.Env] = []  # the connection's, for attempts

        async def read_inbox(job_id: str, seq: int) -> list[dict[str, Any]]:
            # the database away: wait for it as the router does for a step
            # (a failed read would fail the workflow)
            delay = 0.05
            for _ in range(INBOX_TRIES - 1):
                try:
                    return await inbox[0].after(namespace, job_id, seq)
                except errors.RETRYABLE:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            return await inbox[0].after(namespace, job_id, seq)

        async def activation(message: dict[str, Any]) -> dict[str, Any]:
            job_id = str((message.get("data") or {}).get("workflowId"))

            async def reader(seq: int) -> list[dict[str, Any]]:
                return await read_inbox(job_id, seq)

            cancels = told[0] if told else set()
            answer = await runner.activate(
                namespace,
                message,
                reader,
                job_id in cancels,
                env[0].clock,
                converter=converter,
                codec=codec,
                cache=cache if cache.size else None,
            )
            data = message.get("data") or {}
            if answer.get("code") == runner.CONTINUE:
                await timeouts.continued(opened[0].mesh, namespace, data, answer)
            elif closing.closes(message, answer):  # before the answer: never skipped
                await closing.close_children(opened[0].mesh, namespace, job_id)
            # limits its proxies declared: in the database before their calls are sent
            await opened[0].write_limits()
            return answer

        async def committed(message: dict[str, Any], answer: Any) -> None:
            # outcomes recorded: wake their callers now (a NOTIFY, sent after
            # the step's commit), instead of their polling the job row
            data = answer.get("data") if isinstance(answer, dict) else None
            markers = data.get("markers") if isinstance(data, dict) else None
            if isinstance(markers, dict) and any(
                str(k).startswith(_UPDATE_FIELD) for k in markers
            ):
                job_id = str((message.get("data") or {}).get("workflowId"))
                await opened[0].mesh.publish(applied_topic(namespace), {"id": job_id})

        async def activity(message: dict[str, Any]) -> dict[str, Any] | None:
            return await runner.run_activity(
                namespace, topic, message, env[0], converter, codec, chain
            )

        workers = [
            {
                "topic": queue,
                "callback": activation,
                "committed": committed,
                "capacity": int(options.get("capacity", 64)),
                # an activity's result and the activation it wakes: one write
                "inline": _inline(options.get("inline_activations", True)),
            },
            {
                "topic": topic,
                "callback": activity,
                "capacity": int(options.get("activity_capacity", 64)),
            },
        ]
        spans.quiet(queue)  # an activation replays: its calls have their spans
        conn, _ = await connect(config)
        inbox.append(MessageRows(conn.mesh.store))
        told.append(conn.cancels)
        env.append(conn.env())
        opened.append(conn)
        await conn.write_limits()
        topics = conn.add(workers)
        worker = cls(conn, topics)
        worker.task_queue, worker.workflow_name = queue, name
        worker.cache = cache
        conn.caches.append(cache)
        return worker

    async def run(self) -> None:
        """Workers run from ``create`` on; kept for upstream's shape."""


def _inline(value: Any) -> bool:
    if not isinstance(value, bool):
        raise errors.ConfigError(
            "Worker.create options: inline_activations must be True or False, "
            f"not {value!r}"
        )
    return value


class ActivityWorker(_Part):
    """Runs activities on ``<task_queue>-activity``."""


async def register_activity_worker(
    config: Mapping[str, Any], activities: Any, activity_task_queue: str | None = None
) -> ActivityWorker:
    """Serve ``activities`` (module, dict or functions) on ``<queue>-activity``."""
    check_config(config, WORKER_KEYS, "register_activity_worker")
    namespace = namespace_of(config)
    queue = activity_task_queue or config.get("task_queue") or config.get("taskQueue")
    if not isinstance(queue, str) or not queue:
        raise errors.ConfigError("register_activity_worker needs a task_queue")
    topic = activity_topic(queue)
    registry.add_activities(namespace, topic, _functions(activities))
    converter = converter_of(config)
    codec = _codec.check(config.get("codec"), "register_activity_worker")
    chain = _interceptors.activity_chain(
        _interceptors.check(config.get("interceptors"), "register_activity_worker")
    )

    env: list[attempts.Env] = []  # set once connected

    async def activity(message: dict[str, Any]) -> dict[str, Any] | None:
        return await runner.run_activity(
            namespace, topic, message, env[0], converter, codec, chain
        )

    capacity = int(dict(config.get("options") or {}).get("capacity", 64))
    conn, _ = await connect(config)
    env.append(conn.env())
    topics = conn.add([{"topic": topic, "callback": activity, "capacity": capacity}])
    return ActivityWorker(conn, topics)


async def shutdown(dsn: str | None = None) -> None:
    """Stop every MemFlow connection of this process (those on ``dsn`` only,
    when given)."""
    keys = [key for key in _SHARED if dsn is None or key[0] == dsn]
    futures = [_SHARED.pop(key) for key in keys]
    for fut in futures:
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            await fut.result().mesh.stop()  # in-flight activations end first
            await fut.result().drain()
