"""Hostile manifests against a real engine: escaping ``$ref``s (issue 20 §1).

The attack deployed a manifest whose ``$ref`` named ``/etc/passwd``; the
file's content then flowed into job data and back out of ``pubsub``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory
from tests.unit.graph.test_expansion_limits import chain, laughs

LEAK = """
app:
  id: leak
  version: '1'
  graphs:
    - subscribes: leak.go
      activities:
        t1:
          type: trigger
          job:
            maps:
              secret:
                $ref: '{ref}'
"""


@pytest.mark.parametrize("ref", ["/etc/passwd", "../../../../../../etc/passwd"])
async def test_deploy_refuses_a_reference_out_of_the_root(
    mesh: MeshFactory, tmp_path: Path, ref: str
) -> None:
    hm = await mesh("leak")
    text = LEAK.format(ref=ref)
    with pytest.raises(
        errors.ManifestLoadError, match=r"<string>:13:17: \$ref .* refused"
    ):
        await hm.deploy(text)
    with pytest.raises(errors.ManifestLoadError, match="refused"):
        await hm.deploy(text, base_dir=tmp_path)
    assert await hm.store.get_plan("leak", "1") is None


async def test_deploy_with_base_dir_reads_inside_it(
    mesh: MeshFactory, tmp_path: Path
) -> None:
    (tmp_path / "value.yaml").write_text("greeting: hello\n")
    hm = await mesh("leak")
    await hm.deploy(LEAK.format(ref="value.yaml"), base_dir=tmp_path)
    await hm.activate("1")
    job_id = await hm.pub("leak.go", {})
    job = await hm.get_state("leak.go", job_id)
    assert job["data"]["secret"] == {"greeting": "hello"}


async def test_a_chain_of_1000_activities_deploys_and_runs(mesh: MeshFactory) -> None:
    # Regression: validate and deploy hit a raw RecursionError (issue 20 §2).
    text = chain(1000)
    hm = await mesh("chain")
    await hm.deploy(text)
    await hm.activate("1")
    output = await hm.pubsub("chain.go", {}, timeout=120)
    assert output["metadata"]["js"] == 0


async def test_an_alias_bomb_is_refused_by_deploy(mesh: MeshFactory) -> None:
    hm = await mesh("bomb")
    with pytest.raises(errors.ManifestLoadError, match=r"alias \*l3 expands"):
        await hm.deploy(laughs())
