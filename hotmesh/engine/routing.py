"""Pure signal routing: the key a signal is delivered on, and the message that
resumes the hook waiting on it (no I/O; the shell and the test harness share it)."""

from __future__ import annotations

from typing import Any

from hotmesh.compiler.plan import HookRule
from hotmesh.engine.commit import PRIORITY
from hotmesh.engine.metadata import Address
from hotmesh.expr.js import UNDEFINED
from hotmesh.store.records import ENGINE_STREAM, NewMessage


def signal_key(rule: HookRule, data: dict[str, Any]) -> tuple[str, Any]:
    """``(key, value)``: the value the hook rule's ``actual`` takes on ``data``
    ('' when undefined) and the key ``<topic>:<value>`` a waiting hook
    registered under."""
    value = rule.actual.evaluate(
        {"$self": {"hook": {"data": data}}, "$hook": {"data": data}}
    )
    value = "" if value is UNDEFINED else value
    return f"{rule.topic}:{value}", value


def webhook(target: dict[str, Any], signal: dict[str, Any]) -> NewMessage:
    """The message that applies a signal as the waiting hook's Leg 2."""
    md = Address.from_metadata(target).to_metadata()
    payload = {
        "metadata": md,
        "data": signal.get("data"),
        "status": signal.get("status") or "success",
        "code": signal.get("code") or 200,
    }
    if "lnk" in signal:  # the sender's span, for the hook's span to link to
        payload["lnk"] = signal["lnk"]
    return NewMessage(
        ENGINE_STREAM, "webhook", payload, str(md["jid"]), PRIORITY["webhook"]
    )
