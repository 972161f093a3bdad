"""Unit tests for hotmesh.engine.options: every engine option known, checked once, frozen."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import pytest

from hotmesh import errors
from hotmesh.clock import SYSTEM, ManualClock
from hotmesh.engine.base import NoEvents
from hotmesh.engine.engine import Engine
from hotmesh.engine.options import DEFAULT_RETENTION, EngineOptions, check_keys
from hotmesh.store.postgres import PostgresStore
from hotmesh.store.records import Message


def test_defaults() -> None:
    options = EngineOptions.from_dict(None, env={})
    assert options == EngineOptions()
    assert (options.dsn, options.schema, options.pool_size) == (None, "hotmesh", 10)
    assert options.retention == DEFAULT_RETENTION == 7 * 86400.0
    assert options.clock is SYSTEM


def test_a_misspelt_connection_is_an_error_not_another_database() -> None:
    with pytest.raises(errors.ConfigError) as caught:
        EngineOptions.from_dict({"conection": {"dsn": "postgresql://x/db"}}, env={})
    assert str(caught.value) == (
        "engine: unknown option 'conection' (did you mean 'connection'?)"
    )


def test_a_misspelt_dsn_inside_connection_is_an_error() -> None:
    with pytest.raises(errors.ConfigError) as caught:
        EngineOptions.from_dict({"connection": {"dns": "postgresql://x/db"}}, env={})
    assert str(caught.value) == (
        "engine.connection: unknown option 'dns' (did you mean 'dsn'?)"
    )


def test_a_far_unknown_key_lists_the_known_ones() -> None:
    with pytest.raises(errors.ConfigError) as caught:
        EngineOptions.from_dict({"turbo": True}, env={})
    assert str(caught.value) == (
        "engine: unknown option 'turbo' (known: capacity, clock, connection, "
        "gc_freeze, group_commit, heartbeat, lease, "
        "max_cycles, max_data_bytes, max_steps, poison_threshold, poll, pool_size, prune_batch, "
        "prune_interval, prune_max_pause, prune_pace, retention, "
        "schedules, schema, signal_max_bytes, signal_max_pending, signal_ttl, "
        "state_cache)"
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"lease": "30"}, "engine.lease must be a number, not str '30'"),
        ({"capacity": 0}, "engine.capacity must be at least 1, not 0"),
        ({"prune_batch": 0}, "engine.prune_batch must be at least 1, not 0"),
        ({"prune_batch": 2.5}, "engine.prune_batch must be a whole number, not 2.5"),
        ({"prune_pace": -1}, "engine.prune_pace must be at least 0, not -1"),
        (
            {"prune_max_pause": "5"},
            "engine.prune_max_pause must be a number, not str '5'",
        ),
        ({"pool_size": 2.5}, "engine.pool_size must be a whole number, not 2.5"),
        ({"schedules": "no"}, "engine.schedules must be True or False, not 'no'"),
        ({"gc_freeze": 1}, "engine.gc_freeze must be True or False, not 1"),
        ({"retention": -1}, "engine.retention must be at least 0, not -1"),
        ({"poll": True}, "engine.poll must be a number, not bool True"),
        (
            {"clock": "now"},
            "engine.clock must be a hotmesh.clock.Clock (now() and sleep_until()), "
            "not str",
        ),
        (
            {"connection": "postgresql://x/db"},
            "engine.connection must be a dict such as {'dsn': ...}, not str",
        ),
    ],
)
def test_values_are_checked(given: dict[str, object], message: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        EngineOptions.from_dict(given, env={})
    assert str(caught.value) == message


def test_values_are_converted_and_frozen() -> None:
    clock = ManualClock()
    options = EngineOptions.from_dict(
        {"lease": 5, "retention": None, "clock": clock, "state_cache": 0}, env={}
    )
    assert options.lease == 5.0 and isinstance(options.lease, float)
    assert options.retention is None and options.clock is clock
    assert options.state_cache == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.lease = 1.0  # type: ignore[misc]


def test_schema_comes_from_argument_then_dict_then_environment() -> None:
    env = {"HOTMESH_SCHEMA": "from_env"}
    assert EngineOptions.from_dict(None, env=env).schema == "from_env"
    assert EngineOptions.from_dict({"schema": "from_dict"}, env=env).schema == (
        "from_dict"
    )
    assert (
        EngineOptions.from_dict({"schema": "from_dict"}, schema="arg", env=env).schema
        == "arg"
    )


def test_bad_schema_from_environment_is_refused() -> None:
    with pytest.raises(errors.ConfigError, match="invalid schema name 'My-Schema'"):
        EngineOptions.from_dict(None, env={"HOTMESH_SCHEMA": "My-Schema"})


def test_dsn_argument_wins_over_the_connection_dict() -> None:
    options = EngineOptions.from_dict(
        {"connection": {"dsn": "postgresql://dict/db"}},
        dsn="postgresql://arg/db",
        env={},
    )
    assert options.dsn == "postgresql://arg/db"


def test_repr_masks_the_password() -> None:
    options = EngineOptions(dsn="postgresql://u:hunter2@h/db")
    assert "hunter2" not in repr(options)
    assert "u:***@h" in repr(options)


def test_check_keys_passes_known_keys() -> None:
    check_keys(["a", "b"], {"a", "b", "c"}, "here")
    with pytest.raises(errors.ConfigError, match=r"^here: unknown option 'bb' "):
        check_keys(["a", "bb"], {"a", "b"}, "here")


def test_an_empty_schema_is_refused_not_replaced() -> None:
    with pytest.raises(errors.ConfigError, match="invalid schema name ''"):
        EngineOptions.from_dict({"schema": ""}, env={"HOTMESH_SCHEMA": "fine"})


def test_the_engine_takes_its_options_and_events_in_its_constructor() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.woken: list[tuple[str, float]] = []

        def wake(self, stream: str, delay: float) -> None:
            self.woken.append((stream, delay))

        def dispatch(self, stream: str, msg: Message) -> None: ...

        def emitted(self, job_id: str, output: dict[str, Any], publishes: str) -> None:
            pass

        def completed(
            self, job_id: str, output: dict[str, Any] | None, publishes: str
        ) -> None:
            pass

    clock = ManualClock()
    events = Recorder()
    options = EngineOptions(
        lease=5.0, clock=clock, state_cache=0, signal_ttl=7.0, max_cycles=3
    )
    engine = Engine(cast(PostgresStore, None), "app", options, events)
    assert (engine.lease, engine.clock, engine.states.size) == (5.0, clock, 0)
    assert (engine.signal_ttl, engine.max_cycles, engine.poison_threshold) == (
        7.0,
        3,
        5,
    )
    engine.events.wake("w:topic", 0.5)
    assert events.woken == [("w:topic", 0.5)]
    # without events, commits tell nobody (and nothing breaks)
    assert isinstance(Engine(cast(PostgresStore, None), "app").events, NoEvents)
