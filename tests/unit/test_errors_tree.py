"""The exception tree drawn in ``hotmesh/errors.py``'s docstring is the real
one: every class is drawn, under its real parent."""

from __future__ import annotations

import inspect
import re

from hotmesh import errors

CLASSES = {
    name: cls
    for name, cls in vars(errors).items()
    if inspect.isclass(cls)
    and cls.__module__ == "hotmesh.errors"
    and issubclass(cls, BaseException)
}


def _drawn() -> dict[str, str | None]:
    """Class -> the parent it is drawn under (``None`` for the root)."""
    doc = errors.__doc__ or ""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^(\s*(?:[│ ]\s*)*(?:[├└]── )?)([A-Z]\w+Error)\b", line)
        if match is None:
            continue
        depth = len(match.group(1))
        name = match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def test_every_exception_class_is_drawn_under_its_parent() -> None:
    drawn = _drawn()
    assert set(drawn) == set(CLASSES), (
        f"missing from the tree: {sorted(set(CLASSES) - set(drawn))}; "
        f"drawn but gone: {sorted(set(drawn) - set(CLASSES))}"
    )
    for name, parent in drawn.items():
        cls = CLASSES[name]
        if parent is None:
            assert cls is errors.HotMeshError
        else:
            assert issubclass(cls, CLASSES[parent]), f"{name} is not a {parent}"


def test_the_tree_names_the_other_public_names() -> None:
    doc = errors.__doc__ or ""
    assert "Problem" in doc and "RETRYABLE" in doc
