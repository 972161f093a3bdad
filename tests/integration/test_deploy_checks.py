"""deploy(): typos are errors, other unknown keys come back as warnings, strict refuses them,
and a refused deploy leaves its version number free."""

from __future__ import annotations

import logging

import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory

TYPO = """\
app:
  id: typo
  version: '1'
  graphs:
    - subscribes: typo.start
      activities:
        t1:
          type: trigger
        approve:
          type: hook
          notes: an unknown key far from any known one
        deny:
          type: hook
      transitions:
        t1:
          - to: approve
            condition:
              code: 200
          - to: deny
            conditions:
              code: 500
"""
FIXED = TYPO.replace("condition:\n", "conditions:\n")
NOTE = (
    "<string>:11:11: warning: unknown key 'notes' is ignored"
    " (at /app/graphs/0/activities/approve/notes)"
)


async def test_a_typo_is_refused_and_leaves_the_version_free(
    mesh: MeshFactory,
) -> None:
    hm = await mesh("typo")
    with pytest.raises(errors.ManifestValidationError) as info:
        await hm.deploy(TYPO)
    assert [str(p) for p in info.value.problems if p.severity == "error"] == [
        "<string>:17:13: unknown key 'condition' (did you mean 'conditions'?)"
        " (at /app/graphs/0/transitions/t1/0/condition)"
    ]
    assert await hm.store.get_plan("typo", "1") is None
    deployed = await hm.deploy(FIXED)  # the same version number, now free
    assert deployed == {"app_id": "typo", "version": "1", "warnings": [NOTE]}


async def test_warnings_are_returned_and_logged(
    mesh: MeshFactory, caplog: pytest.LogCaptureFixture
) -> None:
    hm = await mesh("typo")
    with caplog.at_level(logging.WARNING, logger="hotmesh.deploy"):
        deployed = await hm.deploy(FIXED)
    assert deployed["warnings"] == [NOTE]
    assert [r.getMessage() for r in caplog.records if r.name == "hotmesh.deploy"] == [
        NOTE
    ]


async def test_strict_refuses_warnings_without_storing(mesh: MeshFactory) -> None:
    hm = await mesh("typo")
    with pytest.raises(errors.ManifestValidationError) as info:
        await hm.deploy(FIXED, strict=True)
    assert str(info.value) == (
        "<string>:11:11: unknown key 'notes' is ignored (an error in strict mode)"
        " (at /app/graphs/0/activities/approve/notes)"
    )
    assert await hm.store.get_plan("typo", "1") is None
    clean = FIXED.replace(
        "          notes: an unknown key far from any known one\n", ""
    )
    assert await hm.deploy(clean, strict=True) == {
        "app_id": "typo",
        "version": "1",
        "warnings": [],
    }
