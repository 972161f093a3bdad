"""A worker process for the cross-process trace test: engine + worker
``otel.work``, spans written to a file, until stdin closes.

Usage: python -m tests.integration.otel_node DSN SPANS_FILE
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from hotmesh import HotMesh
from tests.integration.otel_spans import FileExporter, install


async def main(dsn: str, spans: str) -> None:
    install(FileExporter(Path(spans)))

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        if message["data"]["n"] < 0:  # the job fails here, in this process
            raise ValueError("negative")
        return {"data": {"n": message["data"]["n"] * 2}}

    hm = await HotMesh.init(
        app_id="otel",
        engine={"connection": {"dsn": dsn}},
        workers=[{"topic": "otel.work", "callback": work}],
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await hm.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
