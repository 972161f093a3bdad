"""One RetryPolicy for YAML-engine workers, work messages and MemFlow: read in
one place, written in one place, each audience with its defaults."""

from __future__ import annotations

import pytest

from hotmesh import errors
from hotmesh.durations import seconds
from hotmesh.engine.retry import (
    HOTMESH_RETRY,
    MEMFLOW_RETRY,
    RETRY_KEYS,
    RetryPolicy,
    message_policy,
)
from hotmesh.memflow.proxy import DEFAULT_RETRY, SYSTEM_RETRY, make_policy


def test_options_round_trip_in_both_spellings() -> None:
    policy = RetryPolicy(4, 2.0, 0.5, 30.0)
    assert RetryPolicy.from_options(policy.to_options()) == policy
    assert RetryPolicy.from_options(policy.to_message()) == policy
    assert message_policy({"x": 1, **policy.to_message()}) == policy


def test_keys_not_given_keep_the_base_defaults() -> None:
    assert RetryPolicy.from_options({}) == RetryPolicy()
    assert RetryPolicy.from_options({}, MEMFLOW_RETRY) == MEMFLOW_RETRY
    mixed = RetryPolicy.from_options({"maximumAttempts": 2}, MEMFLOW_RETRY)
    assert mixed.maximum_attempts == 2
    assert mixed.backoff_coefficient == MEMFLOW_RETRY.backoff_coefficient


def test_memflow_policies_are_retry_policies_with_flags_kept() -> None:
    assert DEFAULT_RETRY == MEMFLOW_RETRY.to_options()
    policy = make_policy({"throwOnError": False, "initialInterval": "2s"})
    assert policy["throw_on_error"] is False and policy["initial_interval"] == 2.0
    assert RetryPolicy.from_options(policy) == RetryPolicy.from_options(
        {"initial_interval": 2.0}, MEMFLOW_RETRY
    )
    assert make_policy({"maximum_attempts": 0})["maximum_attempts"] == 1


def test_bad_values_are_config_errors_naming_the_setting() -> None:
    with pytest.raises(errors.ConfigError, match="initial_interval"):
        RetryPolicy.from_options({"initialInterval": "soon"})
    with pytest.raises(errors.ConfigError, match="backoff_coefficient"):
        RetryPolicy.from_options({"backoff_coefficient": 0.5})


def test_the_duration_parser_is_neutral() -> None:
    assert seconds("1.5 minutes") == 90.0 and seconds(3) == 3.0
    with pytest.raises(errors.ConfigError, match="timeout"):
        seconds("later", "timeout")


def test_a_message_carries_a_policy_in_either_spelling() -> None:
    # MemFlow's graph passes its recorded (snake_case) policy on unrenamed
    policy = RetryPolicy(4, 2.0, 0.5, 30.0)
    assert message_policy({"payload": {}, **policy.to_options()}) == policy
    assert message_policy({"maximum_attempts": 2}) == RetryPolicy(2)
    assert set(RETRY_KEYS) == {*policy.to_options(), *policy.to_message()}


def test_one_place_holds_each_set_of_defaults() -> None:
    assert HOTMESH_RETRY == RetryPolicy(3, 10.0, 1.0, 120.0)
    assert MEMFLOW_RETRY == RetryPolicy(50, 5.0, 1.0, 120.0)
    assert make_policy(None) == MEMFLOW_RETRY.to_options()
    assert SYSTEM_RETRY.to_options() == make_policy(
        {"maximum_attempts": 3, "initial_interval": 0.1}
    )
