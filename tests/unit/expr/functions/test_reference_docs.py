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


#: Functions whose result is a date (issue 16): each says so in its own note.
DATE_RESULTS = [
    "date.now",
    "date.parse",
    "date.fromISOString",
    "date.setTime",
    "date.UTC",
    "symbol.date",
    *(
        f"date.set{utc}{field}"
        for utc in ("", "UTC")
        for field in (
            "Date",
            "FullYear",
            "Hours",
            "Milliseconds",
            "Minutes",
            "Month",
            "Seconds",
        )
    ),
]

#: Where we differ from upstream on purpose, and the word its note must carry.
DIVERGENT = {
    "array.concat": "upstream passes only",
    "array.get": "indexed too",
    "array.sort": "not ICU collation",
    "cron.nextDelay": "upstream: 5 s",
    "date.fromISOString": "Upstream returns a Date",
    "symbol.date": "upstream returns a Date",
    "date.getDate": "Upstream reads only",
    "date.toISOXString": "upstream formats now",
    "date.toLocaleString": "en-US for every locale",
    "date.setTime": "first argument is not read",
    "json.parse": "reviver",
    "json.stringify": "replacer",
    "math.add": "flattened",
    "math.multiply": "flattened",
    "number.toFixed": "upstream calls the method",
    "object.freeze": "where upstream's is true",
    "string.split": "upstream passes only",
    "string.slice": "upstream calls the method",
    "string.search": "RE2",
}


def test_every_function_returning_a_date_says_epoch_milliseconds() -> None:
    for name in DATE_RESULTS:
        spec = registry.lookup(name)
        assert spec is not None, name
        assert "epoch milliseconds" in spec.note and "Date object" in spec.note, name


def test_each_divergence_from_upstream_is_noted_on_its_function() -> None:
    text = render_reference()
    for name, words in DIVERGENT.items():
        spec = registry.lookup(name)
        assert spec is not None and words in spec.note, (name, spec and spec.note)
        row = next(line for line in text.splitlines() if f"| `{name}` |" in line)
        assert f"**Note:** {spec.note.split('`')[0]}" in row, name
