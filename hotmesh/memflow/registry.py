"""Process-wide registries: workflow functions and activity functions by topic."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: (namespace, task queue) -> workflow name -> function
_WORKFLOWS: dict[tuple[str, str], dict[str, Callable[..., Any]]] = {}
#: (namespace, activity topic) -> activity name -> function
_ACTIVITIES: dict[tuple[str, str], dict[str, Callable[..., Any]]] = {}


def add_workflow(namespace: str, task_queue: str, fn: Callable[..., Any]) -> str:
    """Register ``fn`` under its ``__name__``; returns the name."""
    name = str(getattr(fn, "__name__", ""))
    _WORKFLOWS.setdefault((namespace, task_queue), {})[name] = fn
    return name


def workflow(namespace: str, task_queue: str, name: str) -> Callable[..., Any] | None:
    """The registered workflow function, if any."""
    return _WORKFLOWS.get((namespace, task_queue), {}).get(name)


def add_activities(
    namespace: str, topic: str, functions: Mapping[str, Callable[..., Any]]
) -> None:
    """Register activity functions for the worker of ``topic``."""
    _ACTIVITIES.setdefault((namespace, topic), {}).update(functions)


def activity(namespace: str, topic: str, name: str) -> Callable[..., Any] | None:
    """The registered activity function, if any."""
    return _ACTIVITIES.get((namespace, topic), {}).get(name)


def clear() -> None:
    """Forget every registration and flow-limit declaration (tests)."""
    from hotmesh.memflow import limits

    limits.clear()
    _WORKFLOWS.clear()
    _ACTIVITIES.clear()
