"""@object: JavaScript Object functions over JSON objects (lists act as index-keyed objects)."""

from __future__ import annotations

from typing import Any

from hotmesh import errors
from hotmesh.expr import budget
from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import (
    UNDEFINED,
    code_units,
    from_code_units,
    is_nullish,
    to_string,
    truthy,
)

_FROZEN_NOTE = (
    "Nothing is frozen, sealed or made non-extensible here (job values are plain "
    "JSON): `freeze`, `seal` and `preventExtensions` return the object unchanged, so "
    "a later `isFrozen` of it is false where upstream's is true."
)


def _own(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, list):
        return {str(i): v for i, v in enumerate(obj)}
    if isinstance(obj, str):  # indexed by UTF-16 code unit, as in JavaScript
        return {str(i): from_code_units(c) for i, c in enumerate(code_units(obj))}
    return {}


@register(
    "object.get",
    (2, 2),
    "`obj[prop]`; undefined when `obj` is null or the property is missing.",
)
def get(obj: Any = UNDEFINED, prop: Any = UNDEFINED) -> Any:
    if is_nullish(obj):
        return UNDEFINED
    key = to_string(prop)
    if key == "length" and isinstance(obj, list | str):
        return len(code_units(obj) if isinstance(obj, str) else obj)
    return _own(obj).get(key, UNDEFINED)


@register(
    "object.set",
    (3, 3),
    "Set `obj[prop] = value` (a new object when `obj` is falsy) and return the object.",
)
def set_(obj: Any = UNDEFINED, prop: Any = UNDEFINED, value: Any = UNDEFINED) -> Any:
    target = obj if truthy(obj) else {}
    key = to_string(prop)
    if isinstance(target, list) and key.isdigit():
        if value is UNDEFINED and int(key) >= len(target):
            return target
        i = int(key)
        # Refused before the holes are built: index 30,000,000 took 480 MB.
        budget.current().check_result(i + 1, "object.set")
        target.extend([None] * (i + 1 - len(target)))
        target[i] = value
    elif isinstance(target, dict):
        # An undefined value removes the key: undefined never reaches JSON.
        if value is UNDEFINED:
            target.pop(key, None)
        else:
            target[key] = value
    # Other truthy primitives ignore property writes, as in JavaScript.
    return target


@register(
    "object.create",
    (0, None),
    "A new object from key, value pairs: `create(k1, v1, k2, v2, …)`.",
)
def create(*pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(pairs) - 1, 2):
        if pairs[i + 1] is not UNDEFINED:
            out[to_string(pairs[i])] = pairs[i + 1]
    return out


@register("object.keys", (1, 1), "Own property names ([] for a falsy value).")
def keys(obj: Any = UNDEFINED) -> list[str]:
    return list(_own(obj)) if truthy(obj) else []


@register("object.values", (1, 1), "Own property values ([] for a falsy value).")
def values(obj: Any = UNDEFINED) -> list[Any]:
    return list(_own(obj).values()) if truthy(obj) else []


@register("object.entries", (1, 1), "Own [key, value] pairs ([] for a falsy value).")
def entries(obj: Any = UNDEFINED) -> list[list[Any]]:
    return [[k, v] for k, v in _own(obj).items()] if truthy(obj) else []


@register(
    "object.fromEntries", (1, 1), "A new object from a list of [key, value] pairs."
)
def from_entries(pairs: Any = UNDEFINED) -> dict[str, Any]:
    if not isinstance(pairs, list):
        raise errors.EvaluationError(
            f"@object.fromEntries: {to_string(pairs)} is not a list of [key, value] pairs"
        )
    out: dict[str, Any] = {}
    for pair in pairs:
        if not isinstance(pair, list | dict):
            raise errors.EvaluationError(
                f"@object.fromEntries: entry {to_string(pair)!r} is not a [key, value] pair"
            )
        entry = _own(pair)
        out[to_string(entry.get("0", UNDEFINED))] = entry.get("1", UNDEFINED)
    return {k: v for k, v in out.items() if v is not UNDEFINED}


@register(
    "object.assign",
    (1, None),
    "Copy the sources' properties onto `target` (a new object when null) and return it.",
)
def assign(target: Any = UNDEFINED, *sources: Any) -> Any:
    out = target if isinstance(target, dict) else {}
    for source in sources:
        out.update(_own(source))
    return out


@register("object.getOwnPropertyNames", (1, 1), "Own property names.")
def get_own_property_names(obj: Any = UNDEFINED) -> list[str]:
    names = list(_own(obj))
    return [*names, "length"] if isinstance(obj, list | str) else names


@register(
    "object.getOwnPropertySymbols",
    (1, 1),
    "Always [] (JSON objects have no symbol keys).",
)
def get_own_property_symbols(obj: Any = UNDEFINED) -> list[Any]:
    return []


@register(
    "object.getOwnPropertyDescriptor",
    (2, 2),
    "`{value, writable, enumerable, configurable}` of a property, or undefined.",
)
def get_own_property_descriptor(obj: Any = UNDEFINED, prop: Any = UNDEFINED) -> Any:
    own = _own(obj)
    key = to_string(prop)
    if key not in own:
        return UNDEFINED
    return {
        "value": own[key],
        "writable": True,
        "enumerable": True,
        "configurable": True,
    }


@register(
    "object.defineProperty",
    (3, 3),
    "Set `prop` from the descriptor's `value` and return the object.",
)
def define_property(
    obj: Any = UNDEFINED, prop: Any = UNDEFINED, descriptor: Any = UNDEFINED
) -> Any:
    if isinstance(obj, dict) and isinstance(descriptor, dict) and "value" in descriptor:
        obj[to_string(prop)] = descriptor["value"]
    return obj


@register(
    "object.defineProperties",
    (2, 2),
    "Set each property from its descriptor's `value` and return the object.",
)
def define_properties(obj: Any = UNDEFINED, props: Any = UNDEFINED) -> Any:
    for key, descriptor in _own(props).items():
        define_property(obj, key, descriptor)
    return obj


@register("object.freeze", (1, 1), "Return the object.", note=_FROZEN_NOTE)
def freeze(obj: Any = UNDEFINED) -> Any:
    return obj


@register(
    "object.isFrozen",
    (1, 1),
    "False for objects and arrays; true for primitives.",
    note=_FROZEN_NOTE,
)
def is_frozen(obj: Any = UNDEFINED) -> bool:
    return not isinstance(obj, dict | list)


@register("object.seal", (1, 1), "Return the object.", note=_FROZEN_NOTE)
def seal(obj: Any = UNDEFINED) -> Any:
    return obj


@register(
    "object.isSealed",
    (1, 1),
    "False for objects and arrays; true for primitives.",
    note=_FROZEN_NOTE,
)
def is_sealed(obj: Any = UNDEFINED) -> bool:
    return not isinstance(obj, dict | list)


@register("object.preventExtensions", (1, 1), "Return the object.", note=_FROZEN_NOTE)
def prevent_extensions(obj: Any = UNDEFINED) -> Any:
    return obj


@register(
    "object.isExtensible", (1, 1), "True for objects and arrays.", note=_FROZEN_NOTE
)
def is_extensible(obj: Any = UNDEFINED) -> bool:
    return isinstance(obj, dict | list)


@register("object.hasOwnProperty", (2, 2), "Whether `obj` has its own property `prop`.")
def has_own_property(obj: Any = UNDEFINED, prop: Any = UNDEFINED) -> bool:
    if is_nullish(obj):
        return False
    key = to_string(prop)
    return key in _own(obj) or (key == "length" and isinstance(obj, list | str))


@register(
    "object.isPrototypeOf",
    (2, 2),
    "Always false: JSON values have no prototype chains to share.",
)
def is_prototype_of(obj: Any = UNDEFINED, other: Any = UNDEFINED) -> bool:
    return False


@register(
    "object.propertyIsEnumerable",
    (2, 2),
    "Whether `prop` is an own enumerable property of `obj`.",
)
def property_is_enumerable(obj: Any = UNDEFINED, prop: Any = UNDEFINED) -> bool:
    return to_string(prop) in _own(obj)
