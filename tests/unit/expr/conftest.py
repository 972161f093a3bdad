"""Stand-ins for catalogue functions the expression tests use, until the real ones land."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hotmesh import expr
from hotmesh.expr import js, parser
from hotmesh.expr.functions import registry


def _concat(*args: Any) -> str:
    return "".join(js.to_string(a) for a in args)


def _join(items: Any, sep: Any = js.UNDEFINED) -> str:
    glue = "," if sep is js.UNDEFINED else js.to_string(sep)
    return glue.join("" if js.is_nullish(i) else js.to_string(i) for i in items)


def _multiply(*args: Any) -> Any:
    return math.prod(js.to_number(a) for a in args)


def _add(*args: Any) -> Any:
    return sum(js.to_number(a) for a in args)


def _create(*args: Any) -> dict[str, Any]:
    return {js.to_string(args[i]): args[i + 1] for i in range(0, len(args) - 1, 2)}


def _push(items: list[Any], *values: Any) -> list[Any]:
    items.extend(values)
    return items


def _set(obj: dict[str, Any], key: Any, value: Any) -> dict[str, Any]:
    obj[js.to_string(key)] = value
    return obj


def _now(*_: Any) -> int:
    return int(dt.datetime.now(dt.UTC).timestamp() * 1000)


def _locale(ms: Any, *_: Any) -> str:
    moment = dt.datetime.fromtimestamp(js.to_number(ms) / 1000, dt.UTC)
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year}, {hour}:{moment:%M:%S} {suffix}"


STANDINS: dict[str, tuple[Callable[..., Any], bool]] = {
    "string.concat": (_concat, True),
    "string.split": (lambda s, sep: js.to_string(s).split(js.to_string(sep)), True),
    "array.join": (_join, True),
    "array.push": (_push, True),
    "array.get": (lambda items, i: items[int(js.to_number(i))], True),
    "math.multiply": (_multiply, True),
    "math.add": (_add, True),
    "math.min": (lambda *a: min(js.to_number(x) for x in a), True),
    "math.pow": (lambda a, b: js.to_number(a) ** js.to_number(b), True),
    "object.create": (_create, True),
    "object.set": (_set, True),
    "conditional.ternary": (lambda c, a, b: a if js.truthy(c) else b, True),
    "number.gte": (lambda a, b: js.greater_equal(a, b), True),
    "json.parse": (lambda s: json.loads(js.to_string(s)), True),
    "date.now": (_now, False),
    "date.yyyymmdd": (lambda *_: dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"), False),
    "date.toLocaleString": (_locale, True),
}


@pytest.fixture(scope="module", autouse=True)
def standin_functions(request: pytest.FixtureRequest) -> Iterator[None]:
    """Register stand-ins for the names the real catalogue does not provide yet.

    Module-scoped and removed afterwards so other test packages never see them;
    real functions (loaded first by ``names()``) always win.
    """
    if "functions" in request.path.parts[-2:-1]:
        yield  # the catalogue's own tests must see only the real catalogue
        return
    present = set(registry.names())
    added = [name for name in STANDINS if name not in present]
    for name in added:
        fn, pure = STANDINS[name]
        registry.REGISTRY[name] = registry.FunctionSpec(
            name, fn, (0, None), "test stand-in", pure=pure
        )
    yield
    for name in added:
        del registry.REGISTRY[name]
    # Compiled forms naming a stand-in must not outlive it.
    parser._parse_cached.cache_clear()
    expr._compiled_string.cache_clear()
