"""Why this branch: the transitions out of an activity run, evaluated once,
with a compact record of what each compared (pure; stored with the run's row).

The record is ``{"code": <the run's status code>, "transitions": [...]}``, one
entry per transition in manifest order::

    {"to": "b", "fired": true}                               # unconditional
    {"to": "b", "fired": false, "codes": [200]}              # code not listed
    {"to": "b", "fired": true, "gate": "or",                 # gate only for "or"
     "match": [{"expected": 1, "actual": 1, "ok": true}]}     # compared
    {"expected": 2, "skipped": true}                         # not evaluated

A match whose ``actual`` is undefined has no ``actual`` key. Conditions are
evaluated exactly as :meth:`Transition.passes` does, short-circuit included
(so recording never evaluates an expression the engine would not have).
Values are capped (``MAX_TEXT`` characters) so a large job field cannot grow
the row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hotmesh.compiler.plan import Transition
from hotmesh.expr.js import UNDEFINED, strict_eq

#: Longest string (or JSON text of a list/object) kept as a compared value.
MAX_TEXT = 120


def cap(value: Any) -> Any:
    """``value`` as stored: scalars as they are, long text and large
    structures cut to ``MAX_TEXT`` characters (a structure becomes its JSON text)."""
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, default=str, separators=(",", ":"))
        return value if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
    return value


def _matches(t: Transition, context: Mapping[str, Any]) -> tuple[bool, list[Any]]:
    """``(fired, entries)`` for a transition with conditions to compare."""
    entries: list[dict[str, Any]] = []
    fired = t.gate == "and"
    decided = False
    for m in t.match:
        if decided:
            entries.append({"expected": cap(m.expected), "skipped": True})
            continue
        actual = m.actual.evaluate(context)
        ok = strict_eq(m.expected, actual)
        entry: dict[str, Any] = {"expected": cap(m.expected), "ok": ok}
        if actual is not UNDEFINED:
            entry["actual"] = cap(_plain(actual))
        entries.append(entry)
        if t.gate == "or" and ok:
            fired, decided = True, True
        elif t.gate != "or" and not ok:
            fired, decided = False, True
    return fired, entries


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, (list, tuple)):
        return [None if v is UNDEFINED else _plain(v) for v in value]
    return value


def take(
    transitions: Sequence[Transition], code: int, context: Mapping[str, Any]
) -> tuple[list[str], dict[str, Any] | None]:
    """``(children, record)``: the ids the run transitions to (the same as
    ``[t.to for t in transitions if t.passes(code, context)]``) and the record
    of why (``None`` when the activity has no transitions)."""
    if not transitions:
        return [], None
    children: list[str] = []
    entries: list[dict[str, Any]] = []
    for t in transitions:
        entry: dict[str, Any] = {"to": t.to}
        if t.unconditional:
            fired = True
        elif code not in t.code:
            fired = False
            entry["codes"] = list(t.code)
        elif not t.match:
            fired = True
        else:
            fired, matched = _matches(t, context)
            if t.gate == "or":  # "and" is the default, left out
                entry["gate"] = t.gate
            entry["match"] = matched
        entry["fired"] = fired
        entries.append(entry)
        if fired:
            children.append(t.to)
    return children, {"code": code, "transitions": entries}


def lines(record: Any) -> list[str]:
    """A stored record as text lines (``hotmesh history --explain``, the console)."""
    if not isinstance(record, dict):
        return []
    out = []
    for t in record.get("transitions") or []:
        mark = "fired" if t.get("fired") else "not fired"
        out.append(f"-> {t.get('to')}: {mark} ({detail(t, record.get('code'))})")
    return out


def detail(transition: Mapping[str, Any], code: Any) -> str:
    """What one recorded transition compared, as text."""
    if "codes" in transition:
        return f"code {code} not in {transition['codes']}"
    if "match" in transition:
        gate = f" {transition.get('gate', 'and')} "
        return gate.join(_condition(m) for m in transition["match"])
    return "no conditions"


def _condition(m: Mapping[str, Any]) -> str:
    expected = json.dumps(m.get("expected"), default=str)
    if m.get("skipped"):
        return f"expected {expected}: not evaluated"
    actual = json.dumps(m["actual"], default=str) if "actual" in m else "undefined"
    sign = "==" if m.get("ok") else "!="
    return f"actual {actual} {sign} expected {expected}"
