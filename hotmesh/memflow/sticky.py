"""The sticky workflow cache: resume a workflow instead of replaying it.

An activation that ends on one durable call made by the workflow function
itself (no handlers, conditions, hook scope, gather or cancellation in play)
may leave the function suspended at that call, here, instead of unwinding
it. The next activation of that workflow in this worker resumes it with the
call's recorded result, but only when the job data it brings is exactly what
the suspended function has seen plus that one result: anything else (another
process ran an activation, a reset, a new generation, a signal-in hook's
markers, a retried activation) is a miss, and the activation replays from
the top as without the cache. A bounded LRU; evicted and cleared entries are
unwound as an ended activation is.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hotmesh import errors
from hotmesh.memflow.context import WorkflowContext, replay_map

#: the environment variable giving the default size (0: no cache)
ENV = "HOTMESH_MEMFLOW_CACHE"
#: the default size of a worker's cache (workflows)
DEFAULT_SIZE = 0


def default_size() -> int:
    """The cache size a worker uses without ``max_cached_workflows``."""
    text = os.environ.get(ENV)
    if text is None or not text.strip():
        return DEFAULT_SIZE
    return size_of(text, ENV)


def size_of(value: Any, where: str) -> int:
    """A checked cache size (an int >= 0)."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = -1
    if isinstance(value, bool) or size < 0 or str(size) != str(value).strip():
        raise errors.ConfigError(
            f"{where}: max_cached_workflows is a whole number >= 0 (0: no cache), "
            f"not {value!r}"
        )
    return size


@dataclass
class Entry:
    """A workflow suspended at its one pending call."""

    ctx: WorkflowContext
    task: asyncio.Task[Any]
    fn: Callable[..., Any]
    #: the future the call waits on, and the marker its result is recorded as
    fut: asyncio.Future[Any]
    marker: str
    kind: str
    index: int
    #: the job data as the next activation must bring it, that marker aside
    seen: dict[str, Any]


class Cache:
    """At most ``size`` suspended workflows of one worker, least recently used out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, workflow_id: str) -> Entry | None:
        """The workflow's entry, removed (it runs; ``put`` keeps it again)."""
        return self._entries.pop(workflow_id, None)

    def put(self, entry: Entry) -> list[Entry]:
        """Keep ``entry``; returns those evicted for room (to unwind)."""
        self._entries[entry.ctx.workflow_id] = entry
        out = []
        while len(self._entries) > self.size:
            out.append(self._entries.popitem(last=False)[1])
        return out

    def drain(self) -> list[Entry]:
        """Every entry, removed (the worker stops)."""
        out = list(self._entries.values())
        self._entries.clear()
        return out


def keepable(ctx: WorkflowContext, task: asyncio.Task[Any]) -> bool:
    """Whether this activation's workflow may stay suspended: one call pending,
    made by the workflow function's own task, and nothing else in play whose
    replay order a resumed run could change."""
    return (
        not task.done()
        and len(ctx.interruptions) == 1
        and ctx.tasks == [task]
        and ctx.parked is not None
        and not ctx.parked.done()
        and ctx.msg is None
        and not ctx.scope
        and not ctx.query
        and ctx.expected is None
        and ctx.diverged is None
        and not ctx.cancelled
        and not ctx.cancel_pending
        and ctx.shield == 0
        and ctx.gate is None
    )


def entry_of(
    ctx: WorkflowContext, task: asyncio.Task[Any], fn: Callable[..., Any]
) -> Entry:
    """The entry of a ``keepable`` activation, once its answer is made."""
    item = ctx.interruptions[0]
    seen = {**ctx.state, **ctx.markers, **ctx.search}
    assert ctx.parked is not None
    return Entry(
        ctx,
        task,
        fn,
        ctx.parked,
        str(item["marker"]),
        str(item["kind"]),
        int(item["index"]),
        seen,
    )


def resume(entry: Entry, data: dict[str, Any], fn: Callable[..., Any]) -> bool:
    """Resume ``entry`` with activation ``data`` when that data is exactly
    what it has seen plus its call's result (then True: its task runs on to
    its next call); False: a miss, the caller unwinds it and replays."""
    ctx = entry.ctx
    if (
        fn is not entry.fn
        or entry.fut.done()
        or entry.task.done()
        or data.get("hookId")
        or int(data.get("generation") or 0) != ctx.generation
    ):
        return False
    state = data.get("state")
    if not isinstance(state, dict) or entry.marker not in state:
        return False
    rest = dict(state)
    rest.pop(entry.marker)
    if rest != entry.seen:
        return False
    replay = replay_map(state, ctx.generation)
    recorded = replay.get(entry.index)
    if recorded is None or recorded[0] != entry.kind:
        return False
    ctx.state, ctx.replay = state, replay
    ctx.interruptions, ctx.markers, ctx.search, ctx.tasks = [], {}, {}, []
    ctx.waits = [f for f in ctx.waits if not f.done() and f is not entry.fut]
    ctx.parked = None
    ctx.changed.clear()
    value = recorded[1]
    entry.fut.set_result(value if value is not None else {})
    return True
