"""Checks at the edge: user data (job input, signals, worker responses) that jsonb can store.

PostgreSQL's ``jsonb`` refuses NUL characters (``\\u0000``) and lone UTF-16
surrogates, and Python's JSON encoder refuses sets, bytes, datetimes and other
objects. Such a value used to fail deep inside a step (a raw driver error,
retried, then a claim left to expire): it is now refused where it enters,
naming the field. NaN and infinities are stored as ``null`` (as JavaScript's
``JSON.stringify`` does) by the store's encoder, so they pass.
"""

from __future__ import annotations

from typing import Any

from hotmesh.engine.metadata import ADDRESS_KEYS

#: deeper values would exhaust the recursion of the engine's helpers (copies, encoders)
MAX_DEPTH = 128
#: the keys of a worker response; a non-empty dict needs at least one
RESPONSE_KEYS = ("data", "metadata", "status", "code")
#: Python refuses to print ints of more than 4,300 digits (sys.int_info)
_MAX_INT_BITS = 14_000
#: default bound on one value entering a job (engine option ``max_data_bytes``)
MAX_DATA_BYTES = 4 << 20


def size_over(value: Any, limit: int) -> int | None:
    """``None`` if ``value`` is at most ``limit`` bytes as JSON text, else the
    size measured when the walk passed the limit (a lower bound).

    An estimate that stops early: strings and bytes count their length
    (characters, plus quotes), numbers and constants a few bytes, containers
    their brackets and separators. A 30 MB value is refused after walking
    ``limit`` bytes of it, before any copy or encoding; a circular value ends
    as soon as it passes the limit.
    """
    total = 0
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bytes or kind is bytearray:
            total += len(item) + 3  # quotes and a separator
        elif kind is dict:
            total += 2
            for key, child in item.items():
                total += (len(key) if type(key) is str else 8) + 4
                stack.append(child)
        elif kind is list or kind is tuple:
            total += 2 + len(item)
            if total > limit:  # before copying a long list onto the stack
                return total
            stack.extend(item)
        elif kind is int:
            total += item.bit_length() // 3 + 2
        else:  # floats, None, booleans, anything json_problem refuses later
            total += 8
        if total > limit:
            return total
    return None


def size_reason(measured: int, limit: int) -> str:
    """Why a value over ``limit`` is refused, naming the engine option."""
    return (
        f"too large: at least {measured:,} bytes as JSON, over the limit of "
        f"{limit:,} (engine option max_data_bytes)"
    )


def _segment(key: object) -> str:
    """A JSON pointer segment, printable and storable whatever the key holds."""
    text = str(key).replace("~", "~0").replace("/", "~1")
    text = text.replace("\x00", "\\u0000")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "NUL characters (\\u0000) cannot be stored by PostgreSQL"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "lone surrogate characters are not valid UTF-8"
    return None


def _plainly_ok(item: Any, depth: int = 0) -> bool:
    """A quick pass over the usual shapes (exact dict, list, str, numbers);
    ``False`` means "look closer", not necessarily a problem."""
    kind = type(item)
    if kind is str:
        return "\x00" not in item and (item.isascii() or _text_problem(item) is None)
    if item is None or kind is bool or kind is float:
        return True
    if kind is int:
        return bool(item.bit_length() <= _MAX_INT_BITS)
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        for key, child in item.items():
            if type(key) is not str or not _plainly_ok(key):
                return False
            if not _plainly_ok(child, depth + 1):
                return False
        return True
    if kind is list:
        return all(_plainly_ok(child, depth + 1) for child in item)
    return False


def json_problem(value: Any) -> tuple[str, str] | None:
    """The first part of ``value`` that cannot be stored as jsonb:
    ``(JSON pointer, reason)``, or ``None`` when all of it can."""
    if _plainly_ok(value):
        return None
    # Only now build pointers (the slow part) to name the first problem.
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, pointer, depth = stack.pop()
        if depth > MAX_DEPTH:
            return pointer, f"nested deeper than {MAX_DEPTH} levels (or circular)"
        if item is None or isinstance(item, (bool, float)):
            continue
        if isinstance(item, int):
            if item.bit_length() > _MAX_INT_BITS:
                return pointer, "integer too large to store"
            continue
        if isinstance(item, str):
            reason = _text_problem(item)
            if reason is not None:
                return pointer, reason
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{pointer}/{_segment(key)}"
                if isinstance(key, str):
                    reason = _text_problem(key)
                    if reason is not None:
                        return where, f"key: {reason}"
                elif not (key is None or isinstance(key, (bool, int, float))):
                    return where, f"a {type(key).__name__} key is not valid JSON"
                stack.append((child, where, depth + 1))
            continue
        if isinstance(item, (list, tuple)):
            for index, child in enumerate(item):
                stack.append((child, f"{pointer}/{index}", depth + 1))
            continue
        return pointer, f"a {type(item).__name__} is not a JSON value"
    return None


def _error(message: str) -> dict[str, Any]:
    return {
        "status": "error",
        "code": 500,
        "data": {"message": message, "code": 500},
    }


def worker_response(
    response: Any, max_bytes: int = MAX_DATA_BYTES
) -> dict[str, Any] | None:
    """A worker callback's return value as a response the engine can store.

    ``None`` stays ``None``: "I will answer later through ``hm.add``" (the
    activity then waits for that answer). ``{}`` answers with no data. A
    value of the wrong shape (a non-dict, a dict with none of the keys
    ``data``, ``metadata``, ``status``, ``code``), or holding data jsonb
    cannot store, or more than ``max_bytes`` of it, becomes an error response
    (code 500) that says what was wrong, so the job fails (or retries) instead of ending "done" and empty,
    or its message being claimed again and again.
    """
    if response is None:
        return None
    if not isinstance(response, dict):
        return _error(
            f"invalid worker response: expected a dict or None, got a "
            f"{type(response).__name__}"
        )
    if response and not any(key in response for key in RESPONSE_KEYS):
        # A bare result ({"total": 3}) without the {"data": ...} wrapper used to
        # end the job "done" and empty: most likely a forgotten wrapper.
        shown = ", ".join(repr(k) for k in list(response)[:5])
        more = ", ..." if len(response) > 5 else ""
        return _error(
            f"invalid worker response: a dict with none of the keys data, "
            f"metadata, status, code (it has {shown}{more}); return "
            f"{{'data': {{...}}}} to answer with data"
        )
    metadata = response.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return _error(
            f"invalid worker response: metadata must be a dict, not a "
            f"{type(metadata).__name__}"
        )
    for field in ("data", "metadata"):
        measured = size_over(response.get(field), max_bytes)
        if measured is not None:
            reason = size_reason(measured, max_bytes)
            return _error(f"invalid worker response at /{field}: {reason}")
    for field in ("data", "metadata"):
        problem = json_problem(response.get(field))
        if problem is not None:
            pointer, reason = problem
            return _error(f"invalid worker response at /{field}{pointer}: {reason}")
    return response


def response_step(
    md: dict[str, Any], response: dict[str, Any], status: str, code: Any
) -> dict[str, Any]:
    """The step payload of a worker's checked ``response`` to the work message
    whose metadata is ``md``: the answer may add metadata, never readdress
    the activity it answers."""
    metadata = {**md, **(response.get("metadata") or {})}
    metadata.update({k: md[k] for k in ADDRESS_KEYS if k in md})
    return {
        "metadata": metadata,
        "status": status,
        "code": code,
        "data": response.get("data"),
    }


__all__ = [
    "MAX_DATA_BYTES",
    "MAX_DEPTH",
    "RESPONSE_KEYS",
    "json_problem",
    "response_step",
    "size_over",
    "size_reason",
    "worker_response",
]
