"""Engines a program forgot to close are closed when the interpreter exits.

An engine's supervisor and worker pools run threads that are not daemons, so
a script that opens an engine and ends without `close()` (or raises) would
wait for them forever. Like `concurrent.futures`, the engine registers with
`threading`'s exit hooks, which run before the interpreter waits for
non-daemon threads: each engine still open is closed there — what it had
accepted is committed, its workers stop — and a warning names it.

`close(drain=)` is checked and reported here too (a deploy's graceful stop), and
`Closing` runs an engine's close once, from whichever thread asks first.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
import weakref
from collections.abc import Callable
from typing import Protocol

from aion_actors.workers import current_attempt

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


class Inside(enum.Enum):
    """What of an engine's own work the thread that calls its `close()` is doing."""

    #: none: a thread of the program's own (or another engine's)
    NOTHING = "nothing"
    #: a run's turn: workflow code, a query, an update handler, a done callback called there
    TURN = "turn"
    #: one of the engine's activity threads (or their async activities' loop)
    ACTIVITY = "activity"


class Closing:
    """An engine's close, run once.

    The first caller runs it, unless it is inside a run's turn: the close stops
    every run actor and would wait for the very turn it runs in, so a thread of its
    own ("aion-close") runs it and the caller goes on at once. A later caller from
    the program's own threads waits until that close has finished (it may then
    reopen the store). One of the engine's activities may not close it at all: its
    outcome could not be recorded, so the attempt would run again — and close the
    engine again — whenever the store is reopened.
    """

    def __init__(self) -> None:
        #: taken by the call that runs the close; never released
        self._claim = threading.Lock()
        #: set once the close has finished (or failed), by the thread that ran it
        self._done = threading.Event()

    @property
    def started(self) -> bool:
        """Whether a close has begun: the engine refuses new calls from then on."""
        return self._claim.locked()

    def run(self, engine: object, inside: Inside, close: Callable[[], None]) -> None:
        """Run `close` once, as the class docstring says; `engine` names it in errors."""
        if not self.started:
            check_not_in_activity(engine, inside)
            if self._claim.acquire(blocking=False):
                if inside is Inside.TURN:
                    threading.Thread(target=self._finish, args=(close,), name="aion-close").start()
                else:
                    self._finish(close)
                return
        if inside is Inside.NOTHING:
            self._done.wait()

    def _finish(self, close: Callable[[], None]) -> None:
        try:
            close()
        finally:
            self._done.set()


def check_not_in_activity(engine: object, inside: Inside) -> None:
    """A `RuntimeError` when an activity of `engine` asks to close it (see `Closing`)."""
    if inside is not Inside.ACTIVITY:
        return
    try:
        attempt = current_attempt()
        where = (
            f"an activity (workflow {attempt.workflow_id!r}, activity_id "
            f"{attempt.activity_id!r}, attempt {attempt.attempt})"
        )
    except LookupError:
        where = "one of its activity threads"
    raise RuntimeError(
        f"{engine!r}: close() was called from inside {where} of this engine: its outcome "
        "could not be recorded, so it would run again, and close the engine again, at every "
        "reopening; the engine stays open. Close it from the program's own thread: for "
        "example, have the activity set a threading.Event that your main thread waits on "
        "before it calls close()"
    )


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
