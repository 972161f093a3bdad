"""MemFlow's flow options: the limits of a task queue's activity topic, as
``proxy_activities(concurrency=, rate=)`` and ``Worker.create(options=)``
declare them, and the key of one activity call, taken from its arguments.

The limits are the topic's ``flow_limits`` row, so the database enforces
them across every process exactly as a manifest's topic limits; each call's
key rides on its work message (``ckey``/``rkey``), put there by the built-in
graph's key-only ``concurrency``/``rate`` fields. A process writes a task
queue's limits before its first work message for them is sent.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hotmesh import errors, flow

#: a task queue's declared options: option name -> (values, who declared them)
Declared = dict[str, tuple[tuple[Any, ...], str]]
#: (namespace, activity topic) -> what this process declared for it
_DECLARED: dict[tuple[str, str], Declared] = {}


@dataclass(frozen=True, slots=True)
class KeySpec:
    """Where a call's key comes from: a function of the call's arguments, an
    argument position, or the name of the activity's parameter."""

    option: str  # "concurrency.key" or "rate.key", for messages
    source: Callable[..., Any] | int | str

    def of(
        self, where: str, name: str, args: list[Any], fn: Callable[..., Any] | None
    ) -> str:
        """The key of ``name(*args)`` as text; ``ConfigError`` naming the option."""
        label = f"{where}: {self.option} of {name}()"
        source = self.source
        if callable(source):
            try:
                value = source(*args)
            except Exception as exc:  # the user's function: say which option
                raise errors.ConfigError(
                    f"{label}: the key function raised {type(exc).__name__}: {exc}"
                ) from exc
        elif isinstance(source, int):
            if source >= len(args):
                raise errors.ConfigError(
                    f"{label}: argument {source} is the key, but the call has "
                    f"{len(args)} argument(s)"
                )
            value = args[source]
        else:
            value = _named(label, source, args, fn)
        text = flow.key_text(value)
        if text is None:
            raise errors.ConfigError(
                f"{label} gave {value!r}; a key is a non-empty string or a number"
            )
        return text


def _named(
    label: str, param: str, args: list[Any], fn: Callable[..., Any] | None
) -> Any:
    if fn is None:
        raise errors.ConfigError(
            f"{label}: the activity is not registered in this process, so its "
            f"parameter '{param}' is unknown; pass the function to proxy_activities, "
            "or give the key as an argument position or a function"
        )
    try:
        bound = inspect.signature(fn).bind_partial(*args)
    except TypeError as exc:
        raise errors.ConfigError(f"{label}: the arguments do not fit: {exc}") from exc
    bound.apply_defaults()
    if param not in bound.arguments:
        raise errors.ConfigError(f"{label}: no argument '{param}' in this call")
    return bound.arguments[param]


@dataclass(frozen=True, slots=True)
class ProxyLimits:
    """A proxy's flow options, checked: what it declares and how keys are taken."""

    declared: Declared
    ckey: KeySpec | None
    rkey: KeySpec | None

    def keys(
        self, where: str, name: str, args: list[Any], fn: Callable[..., Any] | None
    ) -> dict[str, str]:
        """``{"ckey": ..., "rkey": ...}`` of one call (only the keyed ones)."""
        out = {}
        if self.ckey is not None:
            out["ckey"] = self.ckey.of(where, name, args, fn)
        if self.rkey is not None:
            out["rkey"] = self.rkey.of(where, name, args, fn)
        return out


def _key_spec(
    value: Any, option: str, where: str, functions: Mapping[str, Callable[..., Any]]
) -> KeySpec:
    if callable(value):
        return KeySpec(option, value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return KeySpec(option, value)
    if isinstance(value, str) and value.isidentifier():
        for name, fn in functions.items():
            if not _takes(fn, value):
                raise errors.ConfigError(
                    f"{where}: '{option}' names parameter '{value}', which activity "
                    f"'{name}' does not have"
                )
        return KeySpec(option, value)
    hint = (
        " (a mapping expression is for manifests; here name the parameter)"
        if isinstance(value, str) and "{" in value
        else ""
    )
    raise errors.ConfigError(
        f"{where}: '{option}' must be an activity parameter's name ('customer_id'), "
        f"an argument position (0) or a function of the arguments, not {value!r}{hint}"
    )


def _takes(fn: Callable[..., Any], param: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # no signature to read: checked per call
        return True
    found = params.get(param)
    return found is not None and found.kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )


def options(
    concurrency: Any,
    rate: Any,
    where: str,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    keyed: bool = True,
) -> ProxyLimits:
    """``concurrency``/``rate`` checked as ``flow`` checks a topic's, with a
    key (when ``keyed``) that is a parameter name, a position or a function."""
    ckey = rkey = None
    checked_c, checked_r = concurrency, rate
    if isinstance(concurrency, Mapping) and concurrency.get("key") is not None:
        if not keyed:
            raise _no_key(where, "concurrency")
        ckey = _key_spec(concurrency["key"], "concurrency.key", where, functions or {})
        checked_c = {**concurrency, "key": "k"}  # the limit checked by flow
    if isinstance(rate, Mapping) and rate.get("key") is not None:
        if not keyed:
            raise _no_key(where, "rate")
        rkey = _key_spec(rate["key"], "rate.key", where, functions or {})
        checked_r = {**rate, "key": "k"}
    limits, _ = flow.limits(checked_c, checked_r, where)
    declared: Declared = {}
    if concurrency is not None:
        declared["concurrency"] = ((limits.concurrency, limits.key_concurrency), where)
    if rate is not None:
        values = (limits.rate_limit, limits.rate_period, limits.rate_keyed)
        declared["rate"] = (values, where)
    return ProxyLimits(declared, ckey, rkey)


def _no_key(where: str, option: str) -> errors.ConfigError:
    return errors.ConfigError(
        f"{where}: a 'key' in options.{option} is not a Worker.create option: the "
        "key of a call is taken where the call is made, so give it to "
        f"proxy_activities({option}={{'limit': N, 'key': 'customer_id'}}); "
        f"Worker.create's {option} is for the whole task queue"
    )


def _show(option: str, values: tuple[Any, ...]) -> str:
    if option == "concurrency":
        whole, per_key = values
        return f"concurrency {whole}" if whole is not None else f"{per_key} per key"
    limit, period, keyed = values
    return f"rate {limit} per {period:g}s" + (" per key" if keyed else "")


def declare(namespace: str, topic: str, given: Declared) -> None:
    """Record ``given`` for ``topic`` in this process; ``ConfigError`` when
    an option was declared here before with other values."""
    mine = _DECLARED.setdefault((namespace, topic), {})
    for option, (values, where) in given.items():
        seen = mine.get(option)
        if seen is not None and seen[0] != values:
            raise errors.ConfigError(
                f"{where}: '{option}' of task queue activities '{topic}' is "
                f"{_show(option, values)} here but {_show(option, seen[0])} in "
                f"{seen[1]}; a task queue's limits are declared once (or alike)"
            )
    for option, entry in given.items():
        mine.setdefault(option, entry)


def declared(namespace: str) -> dict[str, flow.TopicLimits]:
    """Every activity topic's limits declared in this process, by topic."""
    out = {}
    for (ns, topic), given in _DECLARED.items():
        if ns != namespace:
            continue
        conc = given.get("concurrency", ((None, None), ""))[0]
        rate = given.get("rate", ((None, None, False), ""))[0]
        out[topic] = flow.TopicLimits(conc[0], conc[1], rate[0], rate[1], rate[2])
    return out


def clear() -> None:
    """Forget every declaration (tests)."""
    _DECLARED.clear()
