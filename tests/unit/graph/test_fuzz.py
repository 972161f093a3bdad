"""Fuzz load_app: broken or random manifests only ever raise ManifestError (2,100 examples)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from hotmesh.errors import ManifestError
from hotmesh.graph import Manifest, load_app
from tests.upstream import SETUP

ROOT = Path(__file__).resolve().parents[3]
#: seed corpus: our examples and conformance apps, and upstream's when ../shared is there
CORPUS = [ROOT / "graphs", ROOT / "tests" / "conformance", SETUP]

# Small manifests keep each example fast; together they cover every activity type.
TEXTS = sorted(
    text
    for folder in CORPUS
    for p in folder.rglob("*.yaml")
    if (text := p.read_text()).startswith("app:") and text.count("\n") < 160
)


def fast(examples: int) -> settings:
    """Explicit example counts; no deadline (the machine is shared)."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        ["{t1.output.data.a}", "{@math.add}", "- x", "'", "&a", "*a", "!!binary"]
    ),
)


def _load(text: str) -> Manifest | None:
    """Load ``text``; a ManifestError is a fine outcome, anything else fails the test."""
    try:
        return load_app(text)
    except ManifestError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return None


def _mutate(text: str, ops: list[tuple[int, int, Any]]) -> str:
    lines = text.split("\n")
    for op, where, value in ops:
        lines = lines or [""]
        i = where % len(lines)
        if op == 0:
            del lines[i : i + 1]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2 and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {json.dumps(value)}"
        elif op == 3:
            lines.insert(i, str(value))
        elif op == 4:
            lines = lines[:i]
        else:
            line = lines[i]
            cut = len(str(value)) % (len(line) + 1)
            lines[i : i + 1] = [line[:cut] + str(value) + line[cut:]]
    return "\n".join(lines) + "\n"


@fast(1200)
@given(
    text=st.sampled_from(TEXTS),
    ops=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 10_000), SCALARS),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_manifests(text: str, ops: list[tuple[int, int, Any]]) -> None:
    _load(_mutate(text, ops))


JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=25,
)


@fast(500)
@given(value=JSON, wrap=st.booleans())
def test_random_yaml_documents(value: Any, wrap: bool) -> None:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump({"app": value} if wrap else value, out)
    _load(out.getvalue() + "\n")


@fast(400)
@given(text=st.text(max_size=200), deep=st.integers(0, 3000))
def test_random_text_and_deep_nesting(text: str, deep: int) -> None:
    _load(f"app:\n  {text}\n")
    _load("app: " + "[" * deep + "\n")
