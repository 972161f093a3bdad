"""worker: run an engine and worker callbacks for one app until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from hotmesh import errors
from hotmesh.cli import cli
from hotmesh.cli.common import check_id, db_options, run, settings
from hotmesh.mesh import HotMesh


def load_callable(spec: str) -> Any:
    """``package.module:name`` or ``path/to/file.py:name`` → the callable it names."""
    target = load_object(spec, "worker")
    if not callable(target):
        raise errors.ConfigError(f"{spec} is not callable")
    return target


def codec_option(fn: Any) -> Any:
    """``--codec MODULE:ATTR``: the MemFlow payload codec to decode with."""
    return click.option(
        "--codec",
        metavar="MODULE:ATTR",
        envvar="HOTMESH_CODEC",
        show_envvar=True,
        help="The payload codec object (encode/decode) MemFlow payloads are "
        "stored with, e.g. examples.encryption:codec.",
    )(fn)


def load_object(spec: str, what: str) -> Any:
    """``package.module:name`` or ``path/to/file.py:name`` → the object it names."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise errors.ConfigError(
            f"invalid {what} {spec!r}: use module:attr or path/file.py:attr"
        )
    try:
        if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
            path = Path(module_name).resolve()
            if not path.is_file():
                raise errors.ConfigError(f"worker file {module_name} does not exist")
            loader = importlib.util.spec_from_file_location(path.stem, path)
            if loader is None or loader.loader is None:
                raise errors.ConfigError(f"cannot import {module_name}")
            module = importlib.util.module_from_spec(loader)
            sys.modules.setdefault(path.stem, module)
            loader.loader.exec_module(module)
        else:
            # The `hotmesh` script, unlike `python -m`, does not put the
            # working directory on sys.path; user modules usually live there.
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except errors.HotMeshError:
        raise
    except Exception as exc:  # an import error in user code: one line, with its cause
        raise errors.ConfigError(
            f"cannot import {module_name}: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise errors.ConfigError(f"{module_name} has no attribute {attr!r}") from None


@cli.command()
@click.argument("callables", nargs=-1, required=True, metavar="MODULE:CALLABLE...")
@click.option(
    "--app",
    "app_id",
    required=True,
    envvar="HOTMESH_APP",
    show_envvar=True,
    metavar="APP",
    help="The app whose engine and workers to run.",
)
@click.option(
    "--topic",
    "-t",
    "topics",
    multiple=True,
    required=True,
    envvar="HOTMESH_WORKER_TOPIC",
    show_envvar=True,
    help="Worker topic for each callable, in the same order (repeat the option).",
)
@click.option(
    "--capacity",
    type=click.IntRange(min=1),
    metavar="N",
    default=64,
    show_default=True,
    envvar="HOTMESH_WORKER_CAPACITY",
    show_envvar=True,
    help="Messages each worker (and the engine) runs at once; also the most "
    "threads a topic's synchronous callbacks hold.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    envvar="HOTMESH_WORKER_TIMEOUT",
    show_envvar=True,
    help="Fail a callback attempt that runs longer (the retry policy applies; "
    "the thread or task is abandoned).  [default: none]",
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    default=30.0,
    show_default=True,
    envvar="HOTMESH_WORKER_GRACE",
    show_envvar=True,
    help="On Ctrl-C/SIGTERM, how long in-flight work may finish before it is "
    "abandoned (another process runs it again).",
)
@db_options
@click.pass_context
def worker(
    ctx: click.Context,
    callables: tuple[str, ...],
    app_id: str,
    topics: tuple[str, ...],
    capacity: int,
    timeout: float | None,
    grace: float,
    dsn: str | None,
    schema: str | None,
) -> None:
    """Run workers and an engine for APP until Ctrl-C or SIGTERM.

    Each MODULE:CALLABLE (or path/file.py:callable) answers the --topic at the
    same position: it receives {"metadata", "data"} and returns {"data": ...}
    (sync or async). On Ctrl-C/SIGTERM the process stops claiming work,
    finishes what is in flight (within --grace seconds; what is still running
    then is abandoned and printed), releases its claims and exits 0. Run as many
    of these processes as you like, on any machine.
    """
    check_id(app_id, "app id")
    if len(topics) != len(callables):
        raise errors.ConfigError(
            f"{len(callables)} callable(s) but {len(topics)} --topic option(s); "
            "give one --topic per callable, in order"
        )
    workers = []
    for spec, topic in zip(callables, topics, strict=True):
        workers.append(
            {
                "topic": check_id(topic, "worker topic"),
                "callback": load_callable(spec),
                "capacity": capacity,
                "timeout": timeout,
            }
        )
    url, schema_name = settings(ctx, dsn, schema)
    run(_serve(app_id, url, schema_name, workers, capacity, grace))


async def _serve(
    app_id: str,
    dsn: str,
    schema: str,
    workers: list[dict[str, Any]],
    capacity: int,
    grace: float = 30.0,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    hm = await HotMesh.init(
        app_id=app_id,
        engine={"connection": {"dsn": dsn}, "schema": schema, "capacity": capacity},
        workers=workers,
    )
    names = ", ".join(w["topic"] for w in workers)
    click.echo(f"hotmesh: worker ready for app {app_id} (topics: {names})", err=True)
    try:
        await stop.wait()
        click.echo("hotmesh: stopping (finishing in-flight work)", err=True)
    finally:
        report = await hm.stop(grace)
        for left in report["abandoned"]:
            click.echo(
                f"hotmesh: abandoned message {left['message']} of job "
                f"{left['job_id']} ({left['stream']}) after {grace:g} s",
                err=True,
            )
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    click.echo("hotmesh: worker stopped", err=True)
