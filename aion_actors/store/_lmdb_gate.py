"""Who may use an LMDB environment now: many transactions at once, or one caller that needs
none open (map growth, close); and one writer at a time.

LMDB may only resize its map while no transaction of this process is open; a
read transaction spanning a resize would read unmapped memory. So map growth
and close wait here until every transaction has ended.

The gate knows which threads are inside it (in a transaction, or holding the
write lock). A signal handler runs in the thread it interrupts, so an
`Engine.close()` from one may find its own thread inside, in the read or write
the signal interrupted: waiting for it would wait for ever. The store's close
is then put off until that thread is out (`when_out`), and done there. A
thread counts as inside from before it takes its hold until after it let go,
and the gate's own lock is reentrant, so a handler that interrupts the gate's
own bookkeeping neither waits for itself either: it puts its close off, or
finds the thread out and closes (the interrupted caller then finds the store
closed).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

__all__ = ["Gate"]

log = logging.getLogger("aion_actors.store")


class Gate:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._active = 0
        self._exclusive = False
        self._write = threading.Lock()
        #: the threads inside: how many holds each (transactions, the write lock)
        self._inside: dict[int, int] = {}
        #: what to do once a thread is out (`when_out`)
        self._then: dict[int, Callable[[], None]] = {}

    def __enter__(self) -> None:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._enter()
            self._active += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._cond:
            self._active -= 1
            if self._exclusive and not self._active:
                self._cond.notify_all()
            then = self._leave()
        _do(then)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """The write lock: one writer at a time."""
        with self._cond:
            self._enter()
        try:
            with self._write:
                yield
        finally:
            with self._cond:
                then = self._leave()
            _do(then)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """No transaction open, nor any begun, meanwhile."""
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._exclusive = True
            while self._active:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()

    def when_out(self, action: Callable[[], None]) -> bool:
        """If the calling thread is inside (a signal handler interrupted its read or write),
        do `action` once it is out, there, and say True; else False: do it now."""
        with self._cond:
            me = threading.get_ident()
            if me not in self._inside:
                return False
            self._then[me] = action
            return True

    def _enter(self) -> None:
        me = threading.get_ident()
        self._inside[me] = self._inside.get(me, 0) + 1

    def _leave(self) -> Callable[[], None] | None:
        """The calling thread leaves one hold: what it is to do if it is out now."""
        me = threading.get_ident()
        left = self._inside[me] - 1
        if left:
            self._inside[me] = left
            return None
        del self._inside[me]
        return self._then.pop(me, None)


def _do(then: Callable[[], None] | None) -> None:
    """What `when_out` put off, once its thread is out: the read or write it waited for has
    its outcome already, so a failure here is logged, not raised in its place."""
    if then is None:
        return
    try:
        then()
    except Exception:
        log.exception("closing the LMDB store after the read or write its close interrupted")
