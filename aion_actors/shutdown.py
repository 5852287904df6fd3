"""Engines a program forgot to close are closed when the interpreter exits.

An engine's supervisor and worker pools run threads that are not daemons, so
a script that opens an engine and ends without `close()` (or raises) would
wait for them forever. Like `concurrent.futures`, the engine registers with
`threading`'s exit hooks, which run before the interpreter waits for
non-daemon threads: each engine still open is closed there — what it had
accepted is committed, its workers stop — and a warning names it.
"""

from __future__ import annotations

import logging
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
