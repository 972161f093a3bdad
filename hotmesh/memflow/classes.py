"""Class workflows, the Temporal way: ``@defn`` on a class whose ``@run``
method is the workflow and whose ``@signal``, ``@query`` and ``@update``
methods are its handlers (``@<update>.validator`` checks an update).

``@defn`` gives the class a workflow function (named as the class) that
makes an instance, registers its handlers and awaits its run method, so a
class runs on the same engine, replay and handlers as a function workflow.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from hotmesh import errors
from hotmesh.memflow import handlers
from hotmesh.memflow.signatures import TYPED

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: the attribute a decorated method carries: ``(kind, handler name)``
MARK = "__memflow_handler__"
#: the attribute an update method carries: its validator method
VALIDATOR = "__memflow_validator__"
#: the attribute ``@defn`` sets on the class: its workflow function
WORKFLOW = "__memflow_workflow__"
#: the attribute of that function: ``{update name: (method, has a validator)}``
UPDATE_METHODS = "__memflow_updates__"


def _mark(kind: str, fn: Any, name: str | None) -> Any:
    if not callable(fn):
        raise errors.ConfigError(f"@workflow.{kind} decorates a method, not {fn!r}")
    setattr(fn, MARK, (kind, name or fn.__name__))
    return fn


def _decorator(kind: str, fn: Any, name: str | None) -> Any:
    if fn is None:
        return lambda method: _mark(kind, method, name)
    return _mark(kind, fn, name)


def run(fn: F) -> F:
    """Mark the workflow's entry method (``async def run(self, *args)``)."""
    if not inspect.iscoroutinefunction(fn):
        raise errors.ConfigError(
            f"@workflow.run: '{fn.__name__}' must be an async def method"
        )
    result: F = _mark("run", fn, None)
    return result


def signal_handler(fn: Any = None, *, name: str | None = None) -> Any:
    """Mark a signal handler method (``@workflow.signal`` or ``(name=...)``)."""
    return _decorator("signal", fn, name)


def query(fn: Any = None, *, name: str | None = None) -> Any:
    """Mark a query handler method (a plain ``def`` reading ``self``)."""
    return _decorator("query", fn, name)


def update(fn: Any = None, *, name: str | None = None) -> Any:
    """Mark an update handler method; ``@<method>.validator`` marks its check."""

    def mark(method: Any) -> Any:
        marked = _mark("update", method, name)

        def validator(check: F) -> F:
            setattr(marked, VALIDATOR, check)
            return check

        marked.validator = validator
        return marked

    return mark if fn is None else mark(fn)


def handler_name(name: Any) -> str:
    """A handler's name from a str, or from a decorated method (Temporal's
    ``handle.signal(Order.approve, ...)``)."""
    if isinstance(name, str):
        return name
    mark = getattr(name, MARK, None)
    if mark is not None:
        return str(mark[1])
    return str(getattr(name, "__name__", name))


def defn(cls: Any = None, *, name: str | None = None) -> Any:
    """Make a class a workflow (``@workflow.defn`` or ``(name=...)``)."""

    def wrap(klass: type[T]) -> type[T]:
        return _define(klass, name)

    return wrap if cls is None else wrap(cls)


def _define(klass: type[T], name: str | None) -> type[T]:
    members = inspect.getmembers(klass, callable)
    runs = [attr for attr, fn in members if getattr(fn, MARK, ("",))[0] == "run"]
    where = f"@workflow.defn class {klass.__name__}"
    if len(runs) != 1:
        found = ", ".join(runs) or "none"
        raise errors.ConfigError(
            f"{where} needs exactly one @workflow.run method (found: {found})"
        )
    marked = [(attr, getattr(fn, MARK)) for attr, fn in members if hasattr(fn, MARK)]
    run_attr = runs[0]

    async def workflow(*args: Any) -> Any:
        instance = klass()
        for attr, (kind, handler) in marked:
            bound = getattr(instance, attr)
            if kind == "signal":
                handlers.set_signal_handler(handler, bound)
            elif kind == "query":
                handlers.set_query_handler(handler, bound)
            elif kind == "update":
                check = getattr(getattr(klass, attr), VALIDATOR, None)
                validator = None if check is None else check.__get__(instance, klass)
                handlers.set_update_handler(handler, bound, validator)
        return await getattr(instance, run_attr)(*args)

    workflow.__name__ = workflow.__qualname__ = name or klass.__name__
    workflow.__doc__ = klass.__doc__
    updates = {
        handler: (getattr(klass, attr), hasattr(getattr(klass, attr), VALIDATOR))
        for attr, (kind, handler) in marked
        if kind == "update"
    }
    setattr(workflow, UPDATE_METHODS, updates)
    # its arguments and result are typed as the @run method declares them
    setattr(workflow, TYPED, getattr(klass, run_attr))
    setattr(klass, WORKFLOW, workflow)
    return klass


def workflow_function(workflow: Any) -> Any:
    """The workflow function of a ``@defn`` class (else ``workflow`` as it is)."""
    if inspect.isclass(workflow):
        fn = getattr(workflow, WORKFLOW, None)
        if fn is None:
            raise errors.ConfigError(
                f"class {workflow.__name__} is not a workflow: decorate it with "
                "@MemFlow.workflow.defn"
            )
        return fn
    return workflow
