"""The console in a real browser: Debian's chromium driven by Playwright's
Python API (``executable_path``: nothing is downloaded). The hook flow without
a reload, the XSS cases in a real DOM, read-only mode, and a screenshot of
each page (in the test's tmp folder; DASHBOARD_SCREENSHOTS=DIR also writes them
there, which is how docs/images/ is made)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright import async_api as playwright_api

from hotmesh import MemFlow
from hotmesh.memflow import workflow as wf
from tests.dashboard.conftest import XSS, Shop, served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: generous: CI runs this with the load of the whole suite on 2 cores
WAIT_MS = 60_000


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"no chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)"
        )
    async with playwright_api.async_playwright() as p:
        found = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield found
        finally:
            await found.close()


async def _page(browser: Any) -> Any:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    # an alert() would be a script that ran: record (and dismiss) any dialog
    page.dialogs = []
    page.on("dialog", lambda dialog: page.dialogs.append(dialog.message))
    return page


async def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"dashboard-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000
    target = os.environ.get("DASHBOARD_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(target) / path.name)


async def test_signal_a_waiting_job_from_its_page_without_a_reload(
    shop: Shop, browser: Any, tmp_path: Path
) -> None:
    job_id = await shop.order("browser order")
    with served(shop.dsn) as console:
        page = await _page(browser)
        await page.goto(f"{console.url}/jobs/{job_id}")
        # the timeline lists the activities run so far
        timeline = page.locator("#timeline g.run")
        await timeline.first.wait_for()
        names = await timeline.evaluate_all(
            "gs => gs.map(g => g.getAttribute('data-activity'))"
        )
        assert names == ["order", "approve"]
        assert await page.locator("#job-state .state-running").count() == 1
        await page.evaluate("window.__same_page = true")
        form = page.locator("form.signal")
        await form.locator("textarea").fill(f'{{"id": "{job_id}", "by": "ann"}}')
        await form.locator("button").click()
        # the live refresh shows the job done: no reload, no navigation
        await page.locator("#job-state .state-done").wait_for()
        assert await page.evaluate("window.__same_page") is True
        await page.locator("#timeline g.run[data-activity='check']").wait_for()
        assert '"approvedBy": "ann"' in await page.locator("#job-data").inner_text()
        assert await page.locator("form.signal").count() == 0  # the hook is gone
        assert "resumed job" in await page.locator("#flash").inner_text()
    output = await shop.finished(job_id)
    assert output["data"]["approvedBy"] == "ann"


async def test_job_data_cannot_run_script_or_add_elements(
    shop: Shop, browser: Any
) -> None:
    ids = [await shop.order(text, customer=text) for text in XSS]
    with served(shop.dsn) as console:
        page = await _page(browser)
        for url in (
            *(f"{console.url}/jobs/{i}" for i in ids),
            f"{console.url}/jobs",
            f"{console.url}/escalations",
        ):
            await page.goto(url)
            await page.locator("main h1").wait_for()
            assert await page.evaluate("window.__pwned") is None, url
            # our one script tag, and no image anywhere
            assert await page.locator("script").count() == 1, url
            assert await page.locator("img").count() == 0, url
            assert await page.locator("[onerror]").count() == 0, url
        await page.goto(f"{console.url}/escalations")
        assert XSS[1] in await page.locator("table#escalations").inner_text()
        await page.goto(f"{console.url}/jobs/{ids[0]}")
        assert XSS[0] in await page.locator("#job-data").inner_text()
        await page.goto(f"{console.url}/jobs/{ids[1]}")
        # shown as the JSON text it is (its quotes escaped by JSON, not eaten)
        assert json.dumps(XSS[1]) in await page.locator("#job-data").inner_text()
        # a live refresh inserts the same text, still as text
        await page.evaluate("window.__same_page = true")
        await shop.hm.interrupt("dash.order", ids[1])
        await page.locator("#job-state .state-error").wait_for()
        assert await page.evaluate("window.__same_page") is True
        assert await page.evaluate("window.__pwned") is None
        assert await page.locator("img").count() == 0
        assert page.dialogs == []


async def test_read_only_shows_no_action_and_refuses_a_forged_post(
    shop: Shop, browser: Any, tmp_path: Path
) -> None:
    job_id = await shop.order("read only")
    with served(shop.dsn, read_only=True) as console:
        page = await _page(browser)
        for path in (f"/jobs/{job_id}", "/escalations", "/jobs", "/"):
            await page.goto(console.url + path)
            await page.locator("#read-only").wait_for()
            assert await page.locator("form[method='post']").count() == 0, path
            assert await page.locator("button").count() == 0 or path == "/jobs", path
        status = await page.evaluate(
            """async ([url, job]) => {
                const body = new URLSearchParams({app: "dash", topic: "dash.approve",
                    data: JSON.stringify({id: job})});
                const r = await fetch(url + "/jobs/" + job + "/signal",
                    {method: "POST", body, headers: {"X-Requested-With": "hotmesh"}});
                return [r.status, (await r.json()).error];
            }""",
            [console.url, job_id],
        )
        assert status[0] == 403 and "read-only" in status[1]
        await page.goto(f"{console.url}/jobs/{job_id}")
        await _shot(page, tmp_path, "read-only")
    assert await shop.hm.get_status(job_id) > 0


async def parked(name: str) -> Any:
    await wf.sleep_for(0.01)
    return {"hello": name, "got": await wf.wait_for("go")}


async def test_screenshots_of_every_page(
    shop: Shop, browser: Any, tmp_path: Path
) -> None:
    done = [await shop.order(f"order {n}", customer=f"c-{n}") for n in range(4)]
    for job_id in done[:3]:
        row = await shop.hm.escalations.get_by_signal_key(job_id)
        assert row is not None
        await shop.hm.escalations.resolve(str(row["id"]), {"by": "ann"})
        await shop.finished(job_id)
    await shop.hm.interrupt("dash.order", done[3], reason="out of stock")
    # the job page shown is a "run again" of a first job: it says which
    waiting = await shop.hm.rerun(
        await shop.order("waiting for approval", customer="c-9")
    )
    await shop.order("needs a second look", customer="c-7")
    claimed = await shop.hm.escalations.get_by_signal_key(waiting)
    assert claimed is not None
    assert await shop.hm.escalations.claim(str(claimed["id"]), "bo")
    conn = {"dsn": shop.dsn}
    worker = await MemFlow.Worker.create(
        {"connection": conn, "task_queue": "docs", "workflow": parked}
    )
    client = MemFlow.Client({"connection": conn})
    try:
        handle = await client.workflow.start(
            args=["docs"],
            task_queue="docs",
            workflow_name="parked",
            workflow_id="wf-docs",
        )
        await handle.signal("go", {"ok": True})
        await handle.result()
        await client.workflow.start(
            args=["later"],
            task_queue="docs",
            workflow_name="parked",
            workflow_id="wf-open",
        )
        await shop.hm.presence.beat()  # the chart's counts, written now
        with served(shop.dsn, token="docs-token-123") as console:
            page = await _page(browser)
            await page.goto(console.url + "/jobs")
            await page.locator("form.login").wait_for()
            await _shot(page, tmp_path, "login")
            await page.fill("input[name=token]", "docs-token-123")
            await page.click("form.login button")
            await page.locator("table#jobs").wait_for()
            pages = {
                "overview": ("/", "table#processes"),
                "apps": ("/apps", "#apps"),
                "app": ("/apps/dash", "figure.diagram svg"),
                "jobs": ("/jobs", "table#jobs"),
                # the why table: the trigger's run and its one edge, fired
                "job": (f"/jobs/{waiting}", "table#why tr.why-row.fired"),
                "job-failed": (f"/jobs/{done[3]}", "#job-error"),
                "workflows": ("/workflows", "table#workflows"),
                "workflow": ("/workflows/wf-docs", "#events"),
                "escalations": ("/escalations", "table#escalations"),
            }
            for name, (path, ready) in pages.items():
                await page.goto(console.url + path)
                await page.locator(ready).first.wait_for()
                await _shot(page, tmp_path, name)
            bad = await page.goto(console.url + "/jobs?status=finished")
            assert bad is not None and bad.status == 400
            await _shot(page, tmp_path, "bad-filter")
    finally:
        await client.close()
        await worker.stop()
