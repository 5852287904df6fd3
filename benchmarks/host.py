"""Settings of the process hosting the engine, which a scenario may vary.

The engine never changes interpreter-wide state; a service embedding it
may. The one that matters is the cyclic collector's first threshold: at
CPython's default (700 allocations) a busy engine triggers a collection
every few workflows, and every run in flight outlives a few of them, so
the collector keeps scanning the whole heap. ``gc_threshold`` lets a
scenario measure the engine as such a service would tune it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector(threshold: int | None) -> Iterator[str]:
    """Run with the collector's first threshold at ``threshold`` (None: as it is).

    Yields the label to record with the figures: ``"default"`` or the threshold.
    """
    if threshold is None:
        yield "default"
        return
    if not isinstance(threshold, int) or threshold < 1:
        raise ValueError(f"gc_threshold must be an int >= 1 or null, not {threshold!r}")
    before = gc.get_threshold()
    gc.set_threshold(threshold, *before[1:])
    try:
        yield str(threshold)
    finally:
        gc.set_threshold(*before)
