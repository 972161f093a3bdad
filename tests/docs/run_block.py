"""Run one Python docs block (read from stdin) as a script: ``python run_block.py``.

Top-level ``await`` is allowed (the README shows snippets that way); HotMesh
instances the block leaves running are stopped afterwards, so the process ends.
"""

from __future__ import annotations

import ast
import asyncio
import sys
import types


async def _main(source: str) -> None:
    from hotmesh import HotMesh

    code = compile(source, "<docs block>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    try:
        result = eval(code, module.__dict__)
        if asyncio.iscoroutine(result):
            await result
    finally:
        await HotMesh.stop_all()


def main() -> None:
    source = sys.stdin.read()
    if "asyncio.run(" in source:
        # a script that runs its own loop: run it as it is
        code = compile(source, "<docs block>", "exec")
        exec(code, {"__name__": "__main__"})
    else:
        asyncio.run(_main(source))


if __name__ == "__main__":
    main()
