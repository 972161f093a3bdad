"""The durable engine: a pure step function over a plan, and the async shell that commits it."""

from __future__ import annotations
