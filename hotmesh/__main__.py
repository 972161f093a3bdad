"""``python -m hotmesh`` runs the command line."""

from __future__ import annotations

import sys

from hotmesh.cli import main

sys.exit(main())
