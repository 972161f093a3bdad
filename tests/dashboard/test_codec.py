"""The console decodes MemFlow payloads with the codec it is given (issue 23):
without it, an encrypted workflow's pages show only envelopes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from examples import encryption
from hotmesh.memflow import codec as payload_codec
from hotmesh.memflow import registry
from tests.dashboard.conftest import served

KEY = bytes(range(32))
SECRETS = ("Ada Lovelace", "analytical fever")


@pytest.fixture
def clean_registry() -> Any:
    yield
    registry.clear()


async def test_pages_show_payloads_decoded_only_with_the_codec(
    pg_dsn: str, clean_registry: Any
) -> None:
    out = await encryption.main(pg_dsn, encryption.AesGcmCodec(KEY))
    wid = out["workflow_id"]
    pages = (f"/workflows/{wid}", f"/jobs/{wid}")
    with served(pg_dsn) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as http:
            for page in pages:
                shown = await http.get(page)
                assert shown.status_code == 200, page
                assert payload_codec.KEY in shown.text  # envelopes, as stored
                for secret in SECRETS:
                    assert secret not in shown.text, (page, secret)
    with served(pg_dsn, codec=encryption.AesGcmCodec(KEY)) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as http:
            for page in pages:
                shown = await http.get(page)
                assert shown.status_code == 200, page
                for secret in SECRETS:
                    assert secret in shown.text, (page, secret)
    # a wrong key shows the envelopes, not an error page
    with served(pg_dsn, codec=encryption.AesGcmCodec(bytes(32))) as console:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as http:
            shown = await http.get(pages[0])
            assert shown.status_code == 200
            assert all(secret not in shown.text for secret in SECRETS)
