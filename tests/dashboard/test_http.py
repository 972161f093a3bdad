"""Every route of the console over HTTP against a real uvicorn and PostgreSQL:
status codes, 404s, 400s naming the filter, the token, CSRF, read-only mode,
escaping, and that actions change state through the API."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import httpx
import pytest

from hotmesh import MemFlow
from hotmesh.memflow import workflow as wf
from hotmesh.store.console import DATA_SCAN
from tests.dashboard.conftest import XSS, Shop, served

TOKEN = "s3cret-token"
PASSWORD = "pw-never-shown"


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def _post(
    client: httpx.AsyncClient, url: str, fields: dict[str, str], **headers: str
) -> httpx.Response:
    return await client.post(url, data=fields, headers=headers)


async def test_every_page_answers_and_unknown_ids_are_404(shop: Shop) -> None:
    job_id = await shop.order("first order")
    with served(shop.dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            for path in (
                "/",
                "/apps",
                "/apps/dash",
                "/jobs",
                "/workflows",
                "/escalations",
            ):
                answer = await client.get(path)
                assert answer.status_code == 200, path
                assert answer.headers["content-type"].startswith("text/html")
                assert "script-src 'self'" in answer.headers["content-security-policy"]
            page = (await client.get(f"/jobs/{job_id}")).text
            assert "first order" in page and "approve" in page
            assert "dash.approve:" + job_id in page  # the open hook's signal key
            assert (await client.get("/apps/dash")).text.count('<g class="node ') == 3
            for path in (
                "/jobs/no-such-job",
                "/apps/no-such-app",
                "/workflows/no-such-workflow",
                "/workflows/" + job_id,  # a job, but not a workflow
                "/nowhere",
            ):
                missing = await client.get(path)
                assert missing.status_code == 404, path
            assert "no-such-job" in (await client.get("/jobs/no-such-job")).text


async def test_jobs_filters_and_keyset_pages(shop: Shop) -> None:
    ids = [await shop.order(f"order {i}", customer=f"c-{i % 2}") for i in range(5)]
    with served(shop.dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            first = (await client.get("/jobs", params={"limit": 2})).text
            shown = re.findall(r'<a href="/jobs/([^?"]+)\?app=dash">', first)
            assert shown == [ids[4], ids[3]]  # newest first
            more = re.search(r'class="next" href="([^"]+)"', first)
            assert more is not None
            second = (await client.get(more.group(1).replace("&amp;", "&"))).text
            assert re.findall(r'<a href="/jobs/([^?"]+)\?app=dash">', second) == [
                ids[2],
                ids[1],
            ]
            by_data = (
                await client.get("/jobs", params={"data": "customer = c-1"})
            ).text
            assert sorted(
                re.findall(r'<a href="/jobs/([^?"]+)\?app=dash">', by_data)
            ) == sorted([ids[1], ids[3]])
            running = await client.get(
                "/jobs", params={"status": "running", "app": "dash"}
            )
            assert running.status_code == 200 and ids[0] in running.text
            assert (
                ids[0]
                not in (await client.get("/jobs", params={"status": "done"})).text
            )
            assert (
                ids[2] in (await client.get("/jobs", params={"job": ids[2][:12]})).text
            )
            # a prefix's % and _ are taken literally
            for literal in ("%", "_", ids[2][:3] + "%"):
                page = (await client.get("/jobs", params={"job": literal})).text
                assert "No job matches" in page, literal


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"status": "finished"}, "'status': 'finished' is not one of"),
        ({"stauts": "done"}, "did you mean &#39;status&#39;"),
        ({"since": "yesterday"}, "'since': 'yesterday' is not an ISO 8601 time"),
        (
            {"since": "2026-12-07T10:00Z", "until": "2026-12-07T09:00Z"},
            "'until': must be later",
        ),
        ({"data": "customer"}, "'data': 'customer' has no '='"),
        ({"limit": "0"}, "'limit': '0' is not a whole number from 1 to 500"),
        ({"before": "abc"}, "'before': 'abc' is not a cursor"),
    ],
)
async def test_a_bad_filter_is_400_saying_what_is_wrong(
    pg_dsn: str, params: dict[str, str], says: str
) -> None:
    with served(pg_dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            answer = await client.get("/jobs", params=params)
            assert answer.status_code == 400
            assert says.replace("'", "&#39;") in answer.text or says in answer.text
            as_json = await client.get(
                "/jobs", params=params, headers={"Accept": "application/json"}
            )
            assert (
                as_json.status_code == 400
                and "query parameter" in as_json.json()["error"]
            )
            wrong = await client.get("/workflows", params={"status": "nope"})
            assert wrong.status_code == 400 and "status" in wrong.text
            assert (
                await client.get("/escalations", params={"status": "x"})
            ).status_code == 400


async def test_the_token_is_needed_as_bearer_or_login_cookie(shop: Shop) -> None:
    job_id = await shop.order("guarded")
    with served(shop.dsn, token=TOKEN) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            for path in ("/", "/jobs", f"/jobs/{job_id}", "/escalations"):
                assert (await client.get(path)).status_code == 401, path
            refused = await client.get(
                "/jobs", headers={"Authorization": "Bearer wrong-token"}
            )
            assert refused.status_code == 403
            posted = await _post(client, f"/jobs/{job_id}/scrub", {"app": "dash"})
            assert posted.status_code == 401
            ok = await client.get("/jobs", headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.status_code == 200 and job_id in ok.text
            # the login form sets a cookie holding no token
            bad = await _post(client, "/login", {"token": "nope", "next": "/jobs"})
            assert bad.status_code == 403 and "wrong token" in bad.text
            good = await _post(client, "/login", {"token": TOKEN, "next": "/jobs"})
            assert good.status_code == 303 and good.headers["location"] == "/jobs"
            assert TOKEN not in good.headers["set-cookie"]
            assert (await client.get("/jobs")).status_code == 200
            # a login may only send back to this console
            away = await _post(
                client, "/login", {"token": TOKEN, "next": "//evil.example/"}
            )
            assert away.headers["location"] == "/"


async def test_actions_need_post_and_a_csrf_token(shop: Shop) -> None:
    job_id = await shop.order("csrf")
    with served(shop.dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            page = (await client.get(f"/jobs/{job_id}")).text
            assert (await client.get(f"/jobs/{job_id}/scrub")).status_code in (404, 405)
            forged = await _post(
                client, f"/jobs/{job_id}/scrub", {"app": "dash", "csrf": "0" * 64}
            )
            assert forged.status_code == 403 and "CSRF" in forged.text
            missing = await _post(client, f"/jobs/{job_id}/scrub", {"app": "dash"})
            assert missing.status_code == 403
            # another browser (no cookie) with this page's token is refused too
            async with httpx.AsyncClient(base_url=console.url, timeout=60) as other:
                stolen = await _post(
                    other, f"/jobs/{job_id}/scrub", {"app": "dash", "csrf": _csrf(page)}
                )
                assert stolen.status_code == 403
            assert await shop.hm.get_status(job_id) > 0  # nothing happened
            done = await _post(
                client,
                f"/jobs/{job_id}/signal",
                {"app": "dash", "csrf": _csrf(page), "topic": "dash.approve",
                 "data": f'{{"id": "{job_id}", "by": "ann"}}'},
                **{"X-Requested-With": "hotmesh"},
            )  # fmt: skip
            assert done.status_code == 200 and done.json()["ok"] is True
            output = await shop.finished(job_id)
            assert (
                output["data"]["approvedBy"] == "ann"
                and output["data"]["checked"] is True
            )
            bad_json = await _post(
                client, f"/jobs/{job_id}/signal",
                {"app": "dash", "csrf": _csrf(page), "topic": "dash.approve", "data": "{nope"},
            )  # fmt: skip
            assert (
                bad_json.status_code == 400
                and "field &#39;data&#39; is not valid JSON" in bad_json.text
            )


async def test_interrupt_rerun_and_scrub_go_through_the_api(shop: Shop) -> None:
    first = await shop.order("again")
    with served(shop.dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            csrf = _csrf((await client.get(f"/jobs/{first}")).text)
            js = {"X-Requested-With": "hotmesh"}
            rerun = await _post(
                client, f"/jobs/{first}/rerun", {"app": "dash", "csrf": csrf}, **js
            )
            assert rerun.status_code == 200
            location = rerun.json()["location"]
            second = location.split("/jobs/")[1].split("?")[0]
            assert second != first
            assert (await shop.hm.get_state("dash.order", second))["data"][
                "note"
            ] == "again"
            # the link is stored: both pages show it, without any URL hint
            linked = (await client.get(f"/jobs/{second}")).text
            assert re.search(
                rf'id="rerun-of">Run again from job <a href="/jobs/{first}\?app=dash">',
                linked,
            )
            origin = (await client.get(f"/jobs/{first}")).text
            assert re.search(
                rf'id="rerun-by">Run again as job <a href="/jobs/{second}\?app=dash">',
                origin,
            )
            stop = await _post(
                client,
                f"/jobs/{second}/interrupt",
                {"app": "dash", "csrf": csrf, "descend": "1"},
                **js,
            )
            assert stop.status_code == 200, stop.text
            assert "error" in (await client.get(f"/jobs/{second}")).text
            again = await _post(
                client, f"/jobs/{second}/interrupt", {"app": "dash", "csrf": csrf}, **js
            )
            assert again.status_code == 409  # it is no longer running
            gone = await _post(
                client, f"/jobs/{first}/scrub", {"app": "dash", "csrf": csrf}, **js
            )
            assert gone.status_code == 200
            assert (await client.get(f"/jobs/{first}")).status_code == 404
            unknown = await _post(
                client, f"/jobs/{second}/explode", {"app": "dash", "csrf": csrf}, **js
            )
            assert unknown.status_code == 404


async def test_escalations_claim_release_resolve(shop: Shop) -> None:
    job_id = await shop.order("needs a human")
    row = await shop.hm.escalations.get_by_signal_key(job_id)
    assert row is not None
    rid = str(row["id"])
    with served(shop.dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            page = (await client.get("/escalations")).text
            assert "needs a human" in page and rid in page
            csrf = _csrf(page)
            base = {"app": "dash", "csrf": csrf}
            claim = await _post(
                client, f"/escalations/{rid}/claim", {**base, "assignee": "bo"}
            )
            assert claim.status_code == 303
            assert (await shop.hm.escalations.get(rid) or {})["assigned_to"] == "bo"
            assert (
                await _post(client, f"/escalations/{rid}/release", base)
            ).status_code == 303
            assert (await shop.hm.escalations.get(rid) or {})["assigned_to"] is None
            resolve = await _post(
                client,
                f"/escalations/{rid}/resolve",
                {**base, "payload": '{"by": "cy"}'},
            )
            assert resolve.status_code == 303
            assert (await shop.finished(job_id))["data"]["approvedBy"] == "cy"
            assert (
                await client.get("/escalations", params={"status": "resolved"})
            ).text.count(rid) >= 1
            again = await _post(client, f"/escalations/{rid}/resolve", base)
            assert again.status_code == 409
            nobody = await _post(client, f"/escalations/{rid}/claim", base)
            assert nobody.status_code in (400, 409)
            unknown = "00000000-0000-0000-0000-000000000000"
            assert (
                await _post(
                    client, f"/escalations/{unknown}/claim", {**base, "assignee": "x"}
                )
            ).status_code == 404


async def test_read_only_shows_no_action_and_refuses_them(shop: Shop) -> None:
    job_id = await shop.order("look only")
    with served(shop.dsn, read_only=True) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            for path in (f"/jobs/{job_id}", "/escalations"):
                page = (await client.get(path)).text
                assert '<form method="post"' not in page and "read-only" in page
            for verb in ("signal", "interrupt", "scrub", "rerun"):
                forged = await _post(
                    client,
                    f"/jobs/{job_id}/{verb}",
                    {"app": "dash", "topic": "dash.approve", "data": "{}"},
                )
                assert forged.status_code == 403 and "read-only" in forged.text
            assert await shop.hm.get_status(job_id) > 0


async def test_job_data_is_escaped_everywhere(shop: Shop) -> None:
    ids = [await shop.order(text, customer=text) for text in XSS]
    with served(shop.dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            pages = [(await client.get(f"/jobs/{i}")).text for i in ids]
            pages.append((await client.get("/escalations")).text)
            pages.append(
                (await client.get("/jobs", params={"data": f"note = {XSS[0]}"})).text
            )
            for page in pages:
                assert "<script>window" not in page
                assert "<img src=x" not in page and '"><img' not in page
            assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in pages[0]
            assert "&lt;img src=x onerror=" in pages[1]
            assert "&lt;script&gt;" in pages[2]


async def test_the_dsn_password_appears_nowhere(pg_dsn: str) -> None:
    broken = "postgresql://postgres:" + PASSWORD + "@127.0.0.1:1/none"
    with served(broken) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            answer = await client.get("/")
            assert answer.status_code == 503
            assert PASSWORD not in answer.text and "***" in answer.text
    with served(pg_dsn.replace("postgres@", f"postgres:{PASSWORD}@")) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            for path in (
                "/",
                "/apps",
                "/jobs",
                "/workflows",
                "/escalations",
                "/jobs/x",
            ):
                answer = await client.get(path)
                assert PASSWORD not in answer.text and PASSWORD not in str(
                    answer.headers
                )


async def parked(name: str) -> Any:
    return {"hello": name, "got": await wf.wait_for("go")}


async def test_workflows_list_detail_signal_interrupt(pg_dsn: str) -> None:
    conn = {"dsn": pg_dsn}
    worker = await MemFlow.Worker.create(
        {"connection": conn, "task_queue": "dq", "workflow": parked}
    )
    client = MemFlow.Client({"connection": conn})
    try:
        one = await client.workflow.start(
            args=["<b>x</b>"],
            task_queue="dq",
            workflow_name="parked",
            workflow_id="wf-one",
        )
        two = await client.workflow.start(
            args=["y"], task_queue="dq", workflow_name="parked", workflow_id="wf-two"
        )
        with served(pg_dsn) as console:
            async with httpx.AsyncClient(base_url=console.url, timeout=60) as http:
                listed = (
                    await http.get(
                        "/workflows", params={"name": "parked", "queue": "dq"}
                    )
                ).text
                assert "wf-one" in listed and "wf-two" in listed
                assert (
                    "wf-one"
                    not in (await http.get("/workflows", params={"name": "other"})).text
                )
                detail = await http.get("/workflows/wf-one")
                assert detail.status_code == 200 and "<b>x</b>" not in detail.text
                csrf = _csrf(detail.text)
                js = {"X-Requested-With": "hotmesh"}
                sent = await _post(
                    http,
                    "/workflows/wf-one/signal",
                    {
                        "app": "memflow",
                        "csrf": csrf,
                        "signal_id": "go",
                        "data": '{"n": 1}',
                    },
                    **js,
                )
                assert sent.status_code == 200, sent.text
                assert await one.result() == {"hello": "<b>x</b>", "got": {"n": 1}}
                history = (await http.get("/workflows/wf-one")).text
                assert "&lt;b&gt;x&lt;/b&gt;" in history
                stop = await _post(
                    http,
                    "/workflows/wf-two/interrupt",
                    {"app": "memflow", "csrf": csrf},
                    **js,
                )
                assert stop.status_code == 200, stop.text
                assert (await two.result(throw_on_error=False)) is not None
                assert (await http.get("/workflows/nope")).status_code == 404
    finally:
        await client.close()
        await worker.stop()


async def test_a_data_filter_reads_a_bounded_number_of_jobs_per_page(
    shop: Shop,
) -> None:
    """Past DATA_SCAN jobs without a match, the page says how many it read and
    its "Older jobs" link searches on, where the match is found."""
    old = await shop.order("the one", customer="c-rare")
    conn = await asyncpg.connect(shop.dsn)
    try:  # newer jobs without the value (rows as a COPY would write them)
        await conn.execute(
            """INSERT INTO hotmesh.jobs (app_id, job_id, gid, topic, version, status,
                      metadata, data, created_at)
               SELECT 'dash', 'bulk-' || g, 'g', 'dash.order', '1', 0, '{}',
                      jsonb_build_object('customer', 'c-' || g),
                      now() + g * interval '1 millisecond'
                 FROM generate_series(1, $1::int) g""",
            DATA_SCAN + 10,
        )
    finally:
        await conn.close()
    with served(shop.dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
            first = await client.get("/jobs", params={"data": "customer = c-rare"})
            assert first.status_code == 200
            assert "No job matches" in first.text
            assert f"read {DATA_SCAN:,} jobs newest first" in first.text
            more = re.search(r'class="next" href="([^"]+)"', first.text)
            assert more is not None
            second = (await client.get(more.group(1).replace("&amp;", "&"))).text
            assert re.findall(r'<a href="/jobs/([^?"]+)\?app=dash">', second) == [old]
            assert "read 11 jobs from the cursor" in second
            assert 'class="next"' not in second  # nothing older was left
