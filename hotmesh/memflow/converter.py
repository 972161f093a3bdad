"""The data converter: MemFlow values to JSON and back into declared types.

Pure logic, no I/O. ``to_json`` turns a value (a dataclass, a Pydantic model,
an enum, a ``datetime``, a set...) into JSON values; ``from_json`` turns JSON
back into the type a signature declares (``typing.get_type_hints``). A value
that cannot be converted raises ``DataConversionError`` naming where it was
(the argument, field or result) and its type: nothing is stored as a string
by accident. A custom converter is any object with these two methods.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import json
import types
import typing
import uuid
import weakref
from collections import abc
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, get_args, get_origin, is_typeddict

from hotmesh.errors import DataConversionError

_NONE = type(None)
_SEQUENCES = (
    list,
    abc.Sequence,
    abc.MutableSequence,
    abc.Iterable,
    abc.Collection,
)
_SETS = (set, abc.Set, abc.MutableSet)
_MAPPINGS = (dict, abc.Mapping, abc.MutableMapping)


class DataConverter(Protocol):
    """What ``data_converter=`` takes: values to JSON and back.

    ``where`` names the value in errors ("workflow 'order' argument 'item'").
    """

    def to_json(self, value: Any, where: str = "value") -> Any:
        """``value`` as JSON values (dict, list, str, int, float, bool, None)."""
        ...

    def from_json(self, value: Any, hint: Any, where: str = "value") -> Any:
        """JSON ``value`` as an instance of ``hint`` (``Any``: as it is)."""
        ...


def _name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class DefaultConverter:
    """JSON for dataclasses, Pydantic models, TypedDicts, NamedTuples, enums,
    ``datetime``/``date``/``time`` (ISO 8601 text), ``Decimal`` and ``UUID``
    (text), ``bytes`` (base64 text), sets and tuples (lists).

    Decoding is strict: an ``int`` parameter refuses ``"5"``, a dataclass
    refuses unknown fields. Subclass and extend ``to_json``/``from_json`` for
    other types.
    """

    def to_json(self, value: Any, where: str = "value") -> Any:
        """``value`` as JSON values; ``DataConversionError`` for other types."""
        if value is None or isinstance(value, str | bool | int | float):
            if isinstance(value, enum.Enum):
                return self.to_json(value.value, where)
            return value
        if isinstance(value, enum.Enum):
            return self.to_json(value.value, where)
        if isinstance(value, datetime | date | time):
            return value.isoformat()
        if isinstance(value, Decimal | uuid.UUID):
            return str(value)
        if isinstance(value, bytes | bytearray | memoryview):
            return base64.b64encode(bytes(value)).decode("ascii")
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: self.to_json(getattr(value, f.name), f"{where}.{f.name}")
                for f in dataclasses.fields(value)
            }
        dump = getattr(value, "model_dump", None)
        if callable(dump) and not isinstance(value, type):  # a Pydantic model
            try:
                return dump(mode="json")
            except Exception as exc:
                raise DataConversionError(
                    f"{where}: {type(value).__name__} cannot be converted "
                    f"to JSON: {exc}"
                ) from exc
        if isinstance(value, abc.Mapping):
            return {
                self._key(k, where): self.to_json(v, f"{where}[{k!r}]")
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, set | frozenset):
            items = [self.to_json(v, f"{where}{{}}") for v in value]
            # a stable order, so the same set is stored the same way on every run
            return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
        raise DataConversionError(
            f"{where}: type {type(value).__name__} cannot be converted to JSON "
            "(use a dataclass, a Pydantic model, or a custom data_converter)"
        )

    def _key(self, key: Any, where: str) -> str:
        if isinstance(key, str):
            return key
        if isinstance(key, bool | int | float | uuid.UUID | Decimal | enum.Enum):
            text = self.to_json(key, where)
            return text if isinstance(text, str) else json.dumps(text)
        raise DataConversionError(
            f"{where}: a dict key of type {type(key).__name__} cannot be "
            "converted to JSON (keys are str, int, UUID or enum)"
        )

    def from_json(self, value: Any, hint: Any, where: str = "value") -> Any:
        """JSON ``value`` as ``hint``; ``DataConversionError`` when it is not one."""
        if hint is Any or hint is object or isinstance(hint, typing.TypeVar):
            return value
        origin, args = get_origin(hint), get_args(hint)
        if origin is typing.Annotated:
            return self.from_json(value, args[0], where)
        if origin is typing.Union or origin is types.UnionType:
            return self._union(value, hint, args, where)
        if origin is typing.Literal:
            if value in args:
                return value
            raise self._error(value, hint, where)
        if hint is None or hint is _NONE:
            if value is None:
                return None
            raise self._error(value, hint, where)
        if origin is not None:
            return self._generic(value, hint, origin, args, where)
        if isinstance(hint, type):
            return self._class(value, hint, where)
        return value  # a NewType, a ForwardRef left over...: as stored

    def _error(self, value: Any, hint: Any, where: str, why: str = "") -> Exception:
        got = f"{type(value).__name__} {_short(value)}"
        return DataConversionError(
            f"{where}: expected {_name(hint)}, got {got}{': ' + why if why else ''}"
        )

    def _union(self, value: Any, hint: Any, args: tuple[Any, ...], where: str) -> Any:
        if value is None and _NONE in args:
            return None
        for arm in args:
            if arm is _NONE:
                continue
            try:
                return self.from_json(value, arm, where)
            except DataConversionError:
                continue
        raise self._error(value, hint, where)

    def _generic(
        self, value: Any, hint: Any, origin: Any, args: tuple[Any, ...], where: str
    ) -> Any:
        item = args[0] if args else Any
        if origin in _SEQUENCES or origin in _SETS or origin is frozenset:
            if not isinstance(value, list):
                raise self._error(value, hint, where)
            items = [
                self.from_json(v, item, f"{where}[{i}]") for i, v in enumerate(value)
            ]
            if origin in _SETS or origin is frozenset:
                try:
                    return frozenset(items) if origin is frozenset else set(items)
                except TypeError as exc:
                    raise self._error(value, hint, where, str(exc)) from None
            return items
        if origin is tuple:
            return self._tuple(value, hint, args, where)
        if origin in _MAPPINGS:
            if not isinstance(value, dict):
                raise self._error(value, hint, where)
            key_hint, value_hint = (*args, Any, Any)[:2]
            return {
                self._decode_key(k, key_hint, where): self.from_json(
                    v, value_hint, f"{where}[{k!r}]"
                )
                for k, v in value.items()
            }
        if isinstance(origin, type):  # a generic class, ``Box[int]``
            return self._class(value, origin, where)
        return value

    def _tuple(self, value: Any, hint: Any, args: tuple[Any, ...], where: str) -> Any:
        if not isinstance(value, list):
            raise self._error(value, hint, where)
        if len(args) == 2 and args[1] is Ellipsis:
            hints = [args[0]] * len(value)
        elif args == ((),):
            hints = []
        else:
            hints = list(args)
        if args and len(hints) != len(value):
            raise self._error(value, hint, where, f"{len(hints)} items expected")
        if not args:
            hints = [Any] * len(value)
        return tuple(
            self.from_json(v, h, f"{where}[{i}]")
            for i, (v, h) in enumerate(zip(value, hints, strict=True))
        )

    def _decode_key(self, key: str, hint: Any, where: str) -> Any:
        if hint is Any or hint is str:
            return key
        if hint is int or hint is float:
            try:
                return hint(key)
            except ValueError:
                raise self._error(key, hint, f"{where} key") from None
        return self.from_json(key, hint, f"{where} key")

    def _class(self, value: Any, cls: type, where: str) -> Any:
        if cls is bool:
            if isinstance(value, bool):
                return value
            raise self._error(value, cls, where)
        if cls is int or cls is float:
            ok = (
                isinstance(value, int) if cls is int else isinstance(value, int | float)
            )
            if ok and not isinstance(value, bool):
                return cls(value)
            raise self._error(value, cls, where)
        if cls is str:
            if isinstance(value, str):
                return value
            raise self._error(value, cls, where)
        if issubclass(cls, enum.Enum):
            try:
                return cls(value)
            except ValueError:
                raise self._error(value, cls, where, "not one of its values") from None
        for kind in (datetime, date, time, Decimal, uuid.UUID):
            if issubclass(cls, kind):
                return self._text(value, cls, kind, where)
        if issubclass(cls, bytes | bytearray):
            if not isinstance(value, str):
                raise self._error(value, cls, where)
            try:
                return cls(base64.b64decode(value, validate=True))
            except binascii.Error:
                raise self._error(value, cls, where, "not base64") from None
        if dataclasses.is_dataclass(cls):
            return self._dataclass(value, cls, where)
        if is_typeddict(cls):
            return self._typeddict(value, cls, where)
        validate = getattr(cls, "model_validate", None)
        if callable(validate):  # a Pydantic model
            try:
                return validate(value)
            except Exception as exc:
                raise self._error(value, cls, where, str(exc).splitlines()[0]) from exc
        if issubclass(cls, tuple) and hasattr(cls, "_fields"):  # a NamedTuple
            if not isinstance(value, list):
                raise self._error(value, cls, where)
            hints = _hints(cls)
            fields = list(getattr(cls, "_fields"))  # noqa: B009
            items = [
                self.from_json(v, hints.get(f, Any), f"{where}.{f}")
                for f, v in zip(fields, value, strict=False)
            ]
            return cls(*items)
        if cls in (list, tuple, set, frozenset, dict):
            return self._generic(value, cls, cls, (), where)
        if isinstance(value, cls):
            return value
        raise self._error(value, cls, where, "no conversion into this type")

    def _text(self, value: Any, cls: type, kind: type, where: str) -> Any:
        if (
            kind is Decimal
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return cls(str(value))
        if not isinstance(value, str):
            raise self._error(value, cls, where)
        try:
            if kind in (datetime, date, time):
                return getattr(cls, "fromisoformat")(value)  # noqa: B009
            return cls(value)
        except (ValueError, InvalidOperation):
            raise self._error(value, cls, where) from None

    def _dataclass(self, value: Any, cls: type, where: str) -> Any:
        if not isinstance(value, dict):
            raise self._error(value, cls, where)
        hints = _hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise self._error(value, cls, where, f"unknown field(s) {unknown}")
        init: dict[str, Any] = {}
        rest: dict[str, Any] = {}
        for name, raw in value.items():
            decoded = self.from_json(raw, hints.get(name, Any), f"{where}.{name}")
            (init if fields[name].init else rest)[name] = decoded
        try:
            obj = cls(**init)
        except TypeError as exc:
            raise self._error(value, cls, where, str(exc)) from None
        for name, decoded in rest.items():
            object.__setattr__(obj, name, decoded)
        return obj

    def _typeddict(self, value: Any, cls: type, where: str) -> Any:
        if not isinstance(value, dict):
            raise self._error(value, cls, where)
        missing = sorted(set(getattr(cls, "__required_keys__", ())) - set(value))
        if missing:
            raise self._error(value, cls, where, f"missing key(s) {missing}")
        hints = _hints(cls)
        return {
            k: self.from_json(v, hints.get(k, Any), f"{where}[{k!r}]")
            for k, v in value.items()
        }


#: a class's hints, read once (``get_type_hints`` is slow; decoding a
#: dataclass needs them at every replay)
_CLASS_HINTS: weakref.WeakKeyDictionary[type, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)


def _hints(obj: Any) -> dict[str, Any]:
    """``get_type_hints`` with extras kept; {} when they cannot be resolved
    (a class defined inside a function under ``from __future__ import
    annotations``): its values are then decoded as stored."""
    if isinstance(obj, type):
        known = _CLASS_HINTS.get(obj)
        if known is None:
            known = _CLASS_HINTS[obj] = _read_hints(obj)
        return known
    return _read_hints(obj)


def _read_hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except Exception:
        return {}


#: the converter used when none is given
DEFAULT = DefaultConverter()
