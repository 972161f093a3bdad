"""Alias bombs and long chains (issue 20 §2).

A small manifest of nested aliases ("billion laughs") ran for 100 s and grew
past 3.7 GB; a plain chain of 1,000 activities hit a raw ``RecursionError``.
Loading now stops at once past ``ManifestLimits``, naming the alias and its
line, and the compiler walks chains without recursion.
"""

from __future__ import annotations

import time

import pytest

from hotmesh import compiler
from hotmesh.errors import ManifestLoadError
from hotmesh.graph import ManifestLimits, load_app

HEAD = (
    'app:\n  id: bomb\n  version: "1"\n  graphs:\n    - subscribes: b.go\n'
    "      activities:\n        t1:\n          type: trigger\n"
    "          job:\n            maps:\n"
)


def laughs(levels: int = 9, width: int = 9, item: str = '"lol"') -> str:
    """The classic: each level lists ``width`` aliases of the level before."""
    rows = [f"              l0: &l0 [{', '.join([item] * width)}]"]
    for i in range(1, levels):
        rows.append(f"              l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return HEAD + "\n".join(rows) + "\n"


def test_a_billion_laughs_is_refused_at_once_naming_the_alias() -> None:
    started = time.perf_counter()
    with pytest.raises(ManifestLoadError) as info:
        load_app(laughs())
    elapsed = time.perf_counter() - started
    # 9**9 values written out; refused after the first 50,000.
    assert (
        str(info.value) == "<string>:15:24: alias *l3 expands the manifest past "
        "50,000 values (ManifestLimits.max_nodes)"
    )
    assert elapsed < 10  # a bound on hangs, not a benchmark (~0.5 s)


def test_a_long_scalar_repeated_is_refused_by_size() -> None:
    text = HEAD + (
        f'              big: &big "{"x" * 100_000}"\n'
        "              l1: &l1 [*big, *big, *big, *big, *big, *big, *big, *big]\n"
        "              l2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]\n"
        "              l3: [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]\n"
    )
    with pytest.raises(ManifestLoadError) as info:
        load_app(text)
    assert ":14:20:" in str(info.value)
    assert "alias *l2 expands the manifest past 8,388,608 characters" in str(info.value)


def test_references_repeated_are_bounded_too() -> None:
    rows = []
    for i in range(1, 9):
        ref = "{$ref: '#/parts/l" + str(i - 1) + "'}"
        rows.append(f"  l{i}: [{', '.join([ref] * 8)}]\n")
    text = (
        'app:\n  id: bomb\n  version: "1"\n  graphs: []\n'
        "parts:\n  l0: [lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(rows)
        + "  all: {$ref: '#/parts/l8'}\n"
    )
    with pytest.raises(ManifestLoadError, match=r"\$ref expands the manifest past"):
        load_app(text)


def test_the_limits_are_configurable() -> None:
    text = laughs(levels=3, width=9)  # 9 + 81 + 729 values and then some
    assert load_app(text).document["app"]["id"] == "bomb"
    with pytest.raises(ManifestLoadError, match=r"alias \*l0 .* past 100 values"):
        load_app(text, limits=ManifestLimits(max_nodes=100))


def test_a_large_manifest_without_aliases_names_no_alias() -> None:
    rows = "".join(f"              k{i}: v\n" for i in range(200))
    with pytest.raises(ManifestLoadError) as info:
        load_app(HEAD + rows, limits=ManifestLimits(max_nodes=100))
    assert "manifest has more than 100 values" in str(info.value)


def chain(length: int) -> str:
    """A plain sequence: trigger, then ``length - 1`` activities one after another."""
    acts = "".join(f"        a{i}: {{type: hook}}\n" for i in range(1, length))
    edges = "".join(f"        a{i}: [{{to: a{i + 1}}}]\n" for i in range(length - 1))
    return (
        'app:\n  id: chain\n  version: "1"\n  graphs:\n    - subscribes: chain.go\n'
        "      activities:\n        a0: {type: trigger}\n"
        + acts
        + "      transitions:\n"
        + edges
    )


@pytest.mark.parametrize("length", [1000])
def test_a_long_chain_validates_and_compiles(length: int) -> None:
    text = chain(length)
    assert compiler.validate(text) == []
    plan = compiler.compile_source(text)
    last = plan.activities[f"a{length - 1}"]
    assert last.parent == f"a{length - 2}"
    assert len(last.ancestors) == length - 1
