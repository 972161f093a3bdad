"""Manifest fuzzing, loaded *and* compiled: only ManifestError/CompileError, never a crash.

The fast variant (300 examples) runs in CI; ``HOTMESH_LONG=1`` runs 10,000
(8,000 mutated manifests (ours, and upstream's when present), 1,500 random YAML documents, 500 random
texts, 500 random ``$ref`` targets), plus 1,000 references built to escape
the manifest's folder (none may read outside it) and 300 alias bombs. The 2,100-example loader-only fuzz in ``tests/unit/graph`` runs too.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from hotmesh.compiler import compile_app, plan_from_document, plan_to_document
from hotmesh.errors import CompileError, ManifestError
from hotmesh.graph import ManifestLimits, load_app
from tests.fuzz.runs import examples
from tests.long import LONG_ONLY, sized
from tests.unit.graph.test_fuzz import JSON, SCALARS, TEXTS, _mutate

MUTATED = sized(200, 8000)
DOCUMENTS = sized(60, 1500)
TEXT = sized(40, 500)
REFS = sized(40, 500)
ESCAPES = sized(60, 1000)
BOMBS = sized(20, 300)
SMALL = ManifestLimits(max_nodes=5_000, max_scalar_chars=200_000)


def load_and_compile(text: str, limits: ManifestLimits | None = None) -> None:
    """Load, compile and round-trip the plan; our errors are the only allowed failures."""
    try:
        manifest = load_app(text, limits=limits)
    except ManifestError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return
    try:
        plan = compile_app(manifest)
    except ManifestError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return
    except CompileError as exc:
        assert str(exc)
        return
    doc = json.loads(json.dumps(plan_to_document(plan)))
    assert plan_to_document(plan_from_document(doc)) == plan_to_document(plan)


OPS = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 10_000), SCALARS),
    min_size=1,
    max_size=4,
)


@examples(MUTATED)
@given(text=st.sampled_from(TEXTS), ops=OPS)
def test_mutated_manifests_load_and_compile(
    text: str, ops: list[tuple[int, int, Any]]
) -> None:
    load_and_compile(_mutate(text, ops))


@examples(DOCUMENTS)
@given(value=JSON, wrap=st.booleans())
def test_random_yaml_documents_load_and_compile(value: Any, wrap: bool) -> None:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump({"app": value} if wrap else value, out)
    load_and_compile(out.getvalue() + "\n")


@examples(TEXT)
@given(text=st.text(max_size=300))
def test_random_text_loads_and_compiles(text: str) -> None:
    load_and_compile(f"app:\n  {text}\n")
    load_and_compile(text)


@examples(REFS)
@given(ref=st.text(max_size=40))
def test_random_ref_targets_load_and_compile(ref: str) -> None:
    head = 'app:\n  id: a\n  version: "1"\n  graphs:\n    - $ref: '
    load_and_compile(head + json.dumps(ref) + "\n")


SECRET = "hunter2-secret"
# Path pieces that try to climb out of the manifest's folder, or into a special
# file, a URL or the secret beside the folder.
_PIECES = st.sampled_from(
    [
        "..",
        ".",
        "",
        "app",
        "parts",
        "g.yaml",
        "secret.yaml",
        "link.yaml",
        "etc",
        "passwd",
        "proc",
        "self",
        "environ",
        "dev",
        "zero",
        "pipe",
        "~",
        "%2e%2e",
    ]
)
_PREFIXES = st.sampled_from(
    ["", "/", "./", "../", "../../", "http://", "file://", "file:", "data:,", "~/"]
)


def _escape_tree() -> Path:
    root = Path(tempfile.mkdtemp(prefix="hotmesh-escape-"))
    atexit.register(shutil.rmtree, root, True)
    (root / "app" / "parts").mkdir(parents=True)
    (root / "app" / "parts" / "g.yaml").write_text(
        "subscribes: s\nactivities:\n  t: {type: trigger}\n"
    )
    (root / "secret.yaml").write_text(f"token: {SECRET}\n")
    (root / "app" / "parts" / "link.yaml").symlink_to(root / "secret.yaml")
    os.mkfifo(root / "app" / "pipe")
    return root


@examples(ESCAPES)
@given(prefix=_PREFIXES, pieces=st.lists(_PIECES, max_size=6), frag=st.booleans())
def test_escaping_references_never_read_outside_the_root(
    prefix: str, pieces: list[str], frag: bool
) -> None:
    tree = _ESCAPE_TREE
    ref = prefix + "/".join(pieces) + ("#/token" if frag else "")
    path = tree / "app" / "m.yaml"
    text = f'app:\n  id: ab\n  version: "1"\n  graphs:\n    - $ref: {json.dumps(ref)}\n'
    path.write_text(text)
    try:
        manifest = load_app(path)
    except ManifestError as exc:
        assert SECRET not in str(exc)
        assert exc.problems[0].line in (0, 5), str(exc)
        return
    assert SECRET not in json.dumps(manifest.document)


_ESCAPE_TREE = _escape_tree()


@examples(BOMBS)
@given(
    levels=st.integers(1, 12),
    width=st.integers(1, 12),
    item=st.sampled_from(['"lol"', "{a: 1, b: [x, y]}", '"' + "z" * 5000 + '"', "[]"]),
    nested=st.booleans(),
)
def test_alias_bombs_are_refused_quickly(
    levels: int, width: int, item: str, nested: bool
) -> None:
    """Nested aliases of any shape: loaded, or refused at once; never a raw error."""
    rows = [f"              l0: &l0 [{', '.join([item] * width)}]"]
    for i in range(1, levels):
        inner = ", ".join([f"*l{i - 1}"] * width)
        value = f"{{k: [{inner}]}}" if nested else f"[{inner}]"
        rows.append(f"              l{i}: &l{i} {value}")
    text = (
        'app:\n  id: bomb\n  version: "1"\n  graphs:\n    - subscribes: b.go\n'
        "      activities:\n        t1:\n          type: trigger\n"
        "          job:\n            maps:\n" + "\n".join(rows) + "\n"
    )
    started = time.perf_counter()
    try:
        # Smaller limits than the defaults keep each example fast; the
        # refusal path is the same.
        load_and_compile(text, SMALL)
    except (RecursionError, MemoryError) as exc:  # pragma: no cover - the bug
        raise AssertionError(f"raw {type(exc).__name__}") from exc
    assert time.perf_counter() - started < 5  # a hang bound, not a benchmark


@pytest.mark.parametrize(
    "text",
    ["\x00", 'app:\n  id: a\n  version: "1"\n  graphs:\n    - $ref: "x\\0y.yaml"\n'],
    ids=["nul-as-path", "nul-in-ref"],
)
def test_nul_in_a_path_is_a_manifest_error(text: str) -> None:
    # Regression: both raised a bare ValueError ("embedded null byte").
    with pytest.raises(ManifestError, match=r"NUL|null byte"):
        load_app(text)


@pytest.mark.long
@LONG_ONLY
def test_the_long_run_covers_10000_manifests() -> None:
    assert MUTATED + DOCUMENTS + TEXT + REFS >= 10_000
    assert ESCAPES >= 1000 and BOMBS >= 300
