"""The job page's "why this branch" over HTTP against a real uvicorn and
PostgreSQL: the fired transition and the other, with the compared values
(escaped: they are job data)."""

from __future__ import annotations

import re

import httpx

from hotmesh import HotMesh
from tests.dashboard.conftest import XSS, served

APP = """
app:
  id: whyd
  version: '1'
  graphs:
    - subscribes: whyd.start
      activities:
        t: {type: trigger}
        gold: {type: hook, job: {maps: {lane: gold}}}
        basic: {type: hook, job: {maps: {lane: basic}}}
      transitions:
        t:
          - to: gold
            conditions:
              match: [{expected: 'gold', actual: '{t.output.data.tier}'}]
          - to: basic
            conditions:
              match: [{expected: false, actual: '{t.output.data.vip}'}]
"""


def _rows(page: str) -> dict[str, str]:
    """``{target: row html}`` of the why table."""
    found = re.findall(
        r'<tr class="why-row ([a-z-]+)" [^>]*data-to="([^"]+)">(.*?)</tr>', page
    )
    return {to: f"{cls} {body}" for cls, to, body in found}


async def test_the_job_page_shows_why_this_branch(pg_dsn: str) -> None:
    hm = await HotMesh.init(app_id="whyd", engine={"connection": {"dsn": pg_dsn}})
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        gold = await hm.pubsub("whyd.start", {"tier": "gold", "vip": True}, timeout=30)
        odd = await hm.pubsub("whyd.start", {"tier": XSS[0], "vip": False}, timeout=30)
    finally:
        await hm.stop()
    assert gold["data"]["lane"] == "gold" and odd["data"]["lane"] == "basic"
    with served(pg_dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            answer = await client.get(f"/jobs/{gold['metadata']['jid']}")
            assert answer.status_code == 200
            rows = _rows(answer.text)
            assert set(rows) == {"gold", "basic"}
            assert rows["gold"].startswith("fired ")
            assert "<td>fired</td>" in rows["gold"]
            assert "actual &#34;gold&#34; == expected &#34;gold&#34;" in rows["gold"]
            assert rows["basic"].startswith("not-fired ")
            assert "<td>not fired</td>" in rows["basic"]
            assert "actual true != expected false" in rows["basic"]

            page = (await client.get(f"/jobs/{odd['metadata']['jid']}")).text
            rows = _rows(page)
            assert rows["gold"].startswith("not-fired ")
            assert rows["basic"].startswith("fired ")
            assert "<script>window" not in page
            assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in rows["gold"]
