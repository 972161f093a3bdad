"""MemFlow: Temporal-style workflows as plain async Python, on the YAML engine.

A workflow function runs as activations of the built-in graph
(``memflow.yaml``); see ``docs/concepts/memflow.md``.
"""

from __future__ import annotations

from typing import Any

from hotmesh.memflow import activity
from hotmesh.memflow import workflow as _workflow
from hotmesh.memflow.client import Client, WorkflowHandle
from hotmesh.memflow.replay import Replayed, Replayer
from hotmesh.memflow.worker import (
    ActivityWorker,
    Worker,
    register_activity_worker,
    shutdown,
)
from hotmesh.memflow.workflow import ChildHandle


class MemFlow:
    """The MemFlow namespace: ``MemFlow.Client``, ``MemFlow.Worker``, ``MemFlow.workflow``."""

    Client = Client
    Worker = Worker
    Handle = WorkflowHandle
    ChildHandle = ChildHandle
    Replayer = Replayer
    WorkflowHandle = WorkflowHandle
    workflow = _workflow
    activity: Any = activity
    register_activity_worker = staticmethod(register_activity_worker)
    registerActivityWorker = staticmethod(register_activity_worker)
    shutdown = staticmethod(shutdown)


__all__ = [
    "ActivityWorker",
    "ChildHandle",
    "Client",
    "MemFlow",
    "Replayed",
    "Replayer",
    "Worker",
    "WorkflowHandle",
    "activity",
    "register_activity_worker",
    "shutdown",
]
