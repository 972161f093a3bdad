"""validate and compile: manifest commands that need no database."""

from __future__ import annotations
