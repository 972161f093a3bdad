"""The long-run switch: ``HOTMESH_LONG=1`` runs the full-size fuzz, chaos and load suites.

Tests that only make sense at full size are marked ``@pytest.mark.long`` and
``@LONG_ONLY``; tests with a size knob use ``sized(fast, full)``.
"""

from __future__ import annotations

import os

import pytest

LONG = os.environ.get("HOTMESH_LONG", "") not in ("", "0")
LONG_ONLY = pytest.mark.skipif(not LONG, reason="long run: set HOTMESH_LONG=1")


def sized(fast: int, full: int) -> int:
    """``full`` under ``HOTMESH_LONG=1``, else ``fast``."""
    return full if LONG else fast
