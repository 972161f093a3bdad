"""``hotmesh dashboard``: a web console to see, search and steer apps, jobs and
workflows (``create_app`` for your own ASGI app). Needs the ``dashboard``
extra: ``pip install 'hotmesh[dashboard]'``."""

from __future__ import annotations

from hotmesh.dashboard.app import create_app

__all__ = ["create_app"]
