"""The payload codec: user payloads stored encoded (encrypted, compressed).

A codec has ``async encode(bytes) -> bytes`` and ``async decode(bytes) ->
bytes``. Each payload (a value the data converter made) is stored as
``{"$codec": "<base64 of encode(JSON text)>"}``; what the engine itself must
read (ids, names, task queues, retry policies, durations, wait keys, codes,
errors) stays plain. Decoding walks a tree and opens every envelope, so a
worker reads its whole job state (markers, child results, signals) at once.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Protocol

from hotmesh import errors

#: the key of an encoded payload's envelope
KEY = "$codec"


class PayloadCodec(Protocol):
    """What ``codec=`` takes: bytes in, bytes out, both ways."""

    async def encode(self, data: bytes) -> bytes:
        """The stored form of ``data``."""
        ...

    async def decode(self, data: bytes) -> bytes:
        """``data`` back from its stored form."""
        ...


def check(codec: Any, where: str) -> PayloadCodec | None:
    """``codec`` if it has async ``encode``/``decode`` (None stays None)."""
    if codec is None:
        return None
    if not all(callable(getattr(codec, m, None)) for m in ("encode", "decode")):
        raise errors.ConfigError(
            f"{where}: codec must have async encode(bytes) and decode(bytes) "
            f"methods, not {codec!r}"
        )
    return codec  # type: ignore[no-any-return]


def sealed(value: Any) -> bool:
    """Whether ``value`` is an encoded payload's envelope."""
    return isinstance(value, dict) and len(value) == 1 and KEY in value


async def seal(codec: PayloadCodec | None, value: Any) -> Any:
    """``value`` (JSON) encoded into an envelope; as it is without a codec."""
    if codec is None or value is None or sealed(value):
        return value
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        data = await codec.encode(text.encode("utf-8"))
    except Exception as exc:
        raise errors.PayloadCodecError(f"the codec failed to encode: {exc}") from exc
    return {KEY: base64.b64encode(data).decode("ascii")}


async def seal_each(codec: PayloadCodec | None, values: list[Any]) -> list[Any]:
    """Each item sealed (a list the store keeps as a list: inbox arguments)."""
    if codec is None:
        return values
    return [await seal(codec, v) for v in values]


async def unseal(codec: PayloadCodec | None, value: Any) -> Any:
    """An envelope opened (anything else as it is); ``PayloadCodecError`` for
    an envelope without a codec, or one the codec cannot decode."""
    if not sealed(value):
        return value
    if codec is None:
        raise errors.PayloadCodecError(
            "this payload was stored encoded by a codec: give this client or "
            "worker the same codec= (the CLI: --codec module:attr)"
        )
    try:
        data = await codec.decode(base64.b64decode(value[KEY], validate=True))
        return json.loads(data.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise errors.PayloadCodecError(
            f"a stored payload cannot be read: {exc}"
        ) from exc
    except Exception as exc:
        raise errors.PayloadCodecError(f"the codec failed to decode: {exc}") from exc


async def unseal_tree(codec: PayloadCodec | None, tree: Any) -> Any:
    """``tree`` with every envelope in it opened (a copy where one was)."""
    if sealed(tree):
        return await unseal_tree(codec, await unseal(codec, tree))
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            out[k] = await unseal_tree(codec, v) if isinstance(v, dict | list) else v
        return out
    if isinstance(tree, list):
        return [
            await unseal_tree(codec, v) if isinstance(v, dict | list) else v
            for v in tree
        ]
    return tree


async def _seal_record(codec: PayloadCodec, record: Any) -> Any:
    """A marker or event record: its ``data`` and ``args`` sealed (and an
    entity document's ``base`` and ``doc``)."""
    if not isinstance(record, dict):
        return record
    out = dict(record)
    for key in ("data", "args", "base", "doc"):
        if key in out:
            out[key] = await seal(codec, out[key])
    return out


async def _seal_item(codec: PayloadCodec, item: dict[str, Any]) -> dict[str, Any]:
    """An activation's request (an activity, a child, a side effect): its
    arguments sealed, what the engine routes on left plain."""
    item = dict(item)
    if isinstance(item.get("input"), dict):
        given = dict(item["input"])
        args = list(given.get("args") or [])
        if item.get("kind") == "proxy":
            given["args"] = await seal(codec, args)
        elif item.get("kind") == "signal" and len(args) > 1:
            given["args"] = [args[0], await seal(codec, args[1]), *args[2:]]
        elif item.get("kind") == "hook" and len(args) > 2:
            given["args"] = [*args[:2], await seal(codec, args[2]), *args[3:]]
        item["input"] = given
    if isinstance(item.get("child"), dict):
        child = dict(item["child"])
        child["arguments"] = await seal(codec, child.get("arguments") or [])
        if isinstance(child.get("search"), dict):
            child["search"] = {
                k: await seal(codec, v) for k, v in child["search"].items()
            }
        item["child"] = child
    return item


async def seal_answer(
    codec: PayloadCodec | None, answer: dict[str, Any]
) -> dict[str, Any]:
    """An activation's answer with its payloads sealed: the result, the
    continue-as-new arguments, markers, search fields, requested calls."""
    if codec is None or not isinstance(answer.get("data"), dict):
        return answer
    data = dict(answer["data"])
    for key in ("response", "continueArgs"):
        if key in data:
            data[key] = await seal(codec, data[key])
    if isinstance(data.get("markers"), dict):
        data["markers"] = {
            k: await _seal_record(codec, v) for k, v in data["markers"].items()
        }
    if isinstance(data.get("search"), dict):
        data["search"] = {k: await seal(codec, v) for k, v in data["search"].items()}
    if isinstance(data.get("items"), list):
        data["items"] = [await _seal_item(codec, dict(i)) for i in data["items"]]
    elif data.get("type") in ("proxy", "child"):
        data = await _seal_item(codec, data)
    return {**answer, "data": data}
