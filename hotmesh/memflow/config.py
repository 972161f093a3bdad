"""MemFlow configs (``Client``, ``Worker.create``, ``register_activity_worker``):
their keys checked once, and what is read from them (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotmesh import errors
from hotmesh.engine.options import check_keys
from hotmesh.memflow.converter import DEFAULT, DataConverter
from hotmesh.resources import package_file

DEFAULT_NAMESPACE = "memflow"

#: the keys of ``Client(config)``
CLIENT_KEYS = ("connection", "namespace", "data_converter", "codec", "interceptors")
#: the keys of ``Worker.create(config)`` and ``register_activity_worker(config)``
WORKER_KEYS = (
    *CLIENT_KEYS,
    "task_queue",
    "taskQueue",
    "workflow",
    "activities",
    "options",
)
#: the keys of a config's ``connection``; ``options`` holds engine options
CONNECTION_KEYS = ("dsn", "schema", "pool_size", "capacity", "lease", "poll", "options")
#: the keys of a worker config's ``options``
WORKER_OPTIONS = (
    "capacity",
    "activity_capacity",
    "concurrency",
    "rate",
    "max_cached_workflows",
    "inline_activations",
)


def check_config(config: Any, known: tuple[str, ...], where: str) -> None:
    """``ConfigError`` (with "did you mean") for an unknown key anywhere in a
    MemFlow config: its own keys, ``connection`` and ``options``."""
    if not isinstance(config, Mapping):
        raise errors.ConfigError(
            f"{where}: the config is a dict such as {{'connection': {{'dsn': ...}}}}, "
            f"not {type(config).__name__}"
        )
    check_keys(config, known, where)
    connection = config.get("connection") or {}
    if not isinstance(connection, Mapping):
        raise errors.ConfigError(
            f"{where}: connection must be a dict such as {{'dsn': ...}}, "
            f"not {type(connection).__name__}"
        )
    check_keys(connection, CONNECTION_KEYS, f"{where}: connection")
    check_keys(config.get("options") or {}, WORKER_OPTIONS, f"{where}: options")


def converter_of(config: Mapping[str, Any]) -> DataConverter:
    """The config's ``data_converter`` (the default one when not given)."""
    conv = config.get("data_converter")
    if conv is None:
        return DEFAULT
    if not all(callable(getattr(conv, m, None)) for m in ("to_json", "from_json")):
        raise errors.ConfigError(
            "data_converter must have to_json(value, where) and "
            f"from_json(value, hint, where) methods, not {conv!r}"
        )
    return conv  # type: ignore[no-any-return]


def namespace_of(config: Mapping[str, Any]) -> str:
    """The namespace (HotMesh app id) a config names; ``memflow`` by default."""
    return str(config.get("namespace") or DEFAULT_NAMESPACE)


def graph_text(namespace: str) -> str:
    """The built-in app manifest for ``namespace``."""
    text = package_file("hotmesh.memflow", "memflow.yaml").read_text(encoding="utf-8")
    return text.replace("memflow", namespace)


def engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """``HotMesh.init``'s engine options from a config's ``connection``."""
    connection = dict(config.get("connection") or {})
    options = dict(connection.pop("options", None) or {})
    options["connection"] = {"dsn": connection.get("dsn")}
    for key in ("schema", "pool_size", "capacity", "lease", "poll"):
        if key in connection:
            options[key] = connection[key]
    return options
