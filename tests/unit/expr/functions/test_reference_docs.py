"""The committed function reference matches the registry it is generated from."""

from __future__ import annotations

from pathlib import Path

from hotmesh.expr.functions import registry
from hotmesh.expr.functions.docs import REGENERATE, render_reference

REFERENCE = Path(__file__).resolve().parents[4] / "docs" / "reference" / "functions.md"


def test_committed_reference_is_current() -> None:
    assert REFERENCE.exists(), f"missing {REFERENCE}; run: {REGENERATE}"
    assert REFERENCE.read_text(encoding="utf-8") == render_reference(), (
        f"docs/reference/functions.md is stale; run: {REGENERATE}"
    )


def test_reference_lists_every_function_once() -> None:
    text = render_reference()
    for name in registry.names():
        assert text.count(f"| `{name}` |") == 1, name
    namespaces = {name.split(".")[0] for name in registry.names()}
    assert {"string", "object", "date", "cron"} <= namespaces
    for namespace in namespaces:
        assert f"\n## @{namespace}\n" in text


def test_rows_show_arguments_arity_doc_and_notes() -> None:
    text = render_reference()
    split = next(line for line in text.splitlines() if "`string.split`" in line)
    assert "`(s, delimiter?, limit?)` | 1–3 | Split on" in split
    concat = next(line for line in text.splitlines() if "`string.concat`" in line)
    assert "`(...parts)` | 0+ |" in concat
    set_hours = next(line for line in text.splitlines() if "`date.setHours`" in line)
    assert "`(d, hour, minute?, second?, ms?)` | 2–5 |" in set_hours
    cron = next(line for line in text.splitlines() if "`cron.nextDelay`" in line)
    assert "*Impure.*" in cron and "**Note:** The floor is 1 s" in cron


def test_rendering_is_deterministic() -> None:
    assert render_reference() == render_reference()
