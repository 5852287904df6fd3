"""Engines a program forgot to close are closed when the interpreter exits.

An engine's supervisor and worker pools run threads that are not daemons, so
a script that opens an engine and ends without `close()` (or raises) would
wait for them forever. Like `concurrent.futures`, the engine registers with
`threading`'s exit hooks, which run before the interpreter waits for
non-daemon threads: each engine still open is closed there — what it had
accepted is committed, its workers stop — and a warning names it.

`close(drain=)` is checked and reported here too: a deploy's graceful stop.
"""

from __future__ import annotations

import logging
import math
import threading
import weakref
from typing import Protocol

log = logging.getLogger("aion_actors")


class _Closable(Protocol):
    def close(self) -> None: ...


#: engines open in this process; an engine leaves it when it closes
_open: weakref.WeakSet[_Closable] = weakref.WeakSet()
_lock = threading.Lock()


def opened(engine: _Closable) -> None:
    with _lock:
        _open.add(engine)


def closed(engine: _Closable) -> None:
    with _lock:
        _open.discard(engine)


def check_drain(drain: object) -> float:
    """`close(drain=)`: a finite number of seconds >= 0, else a `ValueError` saying so."""
    if isinstance(drain, bool) or not isinstance(drain, int | float) or not drain >= 0:
        raise ValueError(f"close(drain={drain!r}): give the seconds to wait, a number >= 0")
    if not math.isfinite(drain):
        raise ValueError(f"close(drain={drain!r}): give a finite number of seconds")
    return float(drain)


def drained(engine: _Closable, left: int, drain: float) -> None:
    """Say what a drain left running: those attempts run again on the next engine."""
    if left:
        log.warning(
            "%r: %d activity attempt(s) still running after the %g s drain; their outcomes "
            "are not recorded, and they run again when an engine reopens the store",
            engine,
            left,
            drain,
        )


def _close_forgotten() -> None:
    with _lock:
        forgotten = list(_open)
    for engine in forgotten:
        log.warning(
            "%r was never closed; closing it at interpreter exit. Use `with Engine.open(...) "
            "as engine:` or call engine.close() when done",
            engine,
        )
        try:
            engine.close()
        except Exception:
            log.exception("closing %r at interpreter exit failed", engine)


# The hook `concurrent.futures` uses: called before non-daemon threads are joined
# (an `atexit` handler would run only after them, which is too late).
threading._register_atexit(_close_forgotten)  # type: ignore[attr-defined]  # noqa: SLF001
