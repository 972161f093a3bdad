"""Short full garbage collections: the long-lived objects are kept out of them.

A full collection (generation 2) walks every tracked object of the process, on
whatever callback of the event loop allocated last. With an app deployed
(modules, compiled plans, the expression parser: some 70,000 objects) one took
20-50 ms at idle and over 100 ms on a loaded machine, about once a second under
steady work: the longest hold of the event loop while a hostile job ran, and
the healthy job's p99 (issue 20 §3). So once an engine has started, and each
time it loads a plan, the objects alive are moved to the collector's permanent
generation (``gc.freeze``), which collections skip: a full collection then walks
only what was made since (a few thousand objects). Frozen objects are still
freed when their last reference goes; only a reference cycle among them waits,
until the last engine of the process stops (``gc.unfreeze``).
``engine={"gc_freeze": False}`` leaves the collector alone.
"""

from __future__ import annotations

import gc

_engines = 0


def engine_started() -> None:
    """An engine of this process started: freeze what is alive now."""
    global _engines
    _engines += 1
    settle()


def settle() -> None:
    """Collect the young garbage, then freeze every object that is alive."""
    gc.collect(1)  # young generations only: cheap, and most garbage is young
    gc.freeze()


def engine_stopped() -> None:
    """An engine stopped: the last one gives the frozen objects back to the collector."""
    global _engines
    _engines = max(0, _engines - 1)
    if _engines == 0:
        gc.unfreeze()


def engines() -> int:
    """Running engines that froze the heap (for tests)."""
    return _engines
