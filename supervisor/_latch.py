"""`Latch`: a `threading.Event` that is set once and never cleared, on one lock."""

from __future__ import annotations

import threading

from supervisor._waits import LONGEST_WAIT, wait_long

__all__ = ["Latch"]


class Latch:
    """Set once, waited on by any number of threads; never cleared.

    A host starts hundreds of children a second and each carries two of
    these (its actor's stop flag, its incarnation's exit). A
    `threading.Event` is a `Condition`, two locks and a waiter list built in
    Python; this is one lock, held until the latch is set. Each waiter that
    gets through hands the lock on to the next.
    """

    __slots__ = ("_flag", "_gate")

    def __init__(self) -> None:
        #: False until `set`; then True forever
        self._flag = False
        #: held until the latch is set; a waiter that gets it hands it on at once
        self._gate = threading.Lock()
        self._gate.acquire()

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        if self._flag:
            return
        self._flag = True
        try:  # noqa: SIM105 - suppress() costs three calls more, on a hot path
            self._gate.release()
        except RuntimeError:  # a racing set() released it first
            pass

    def wait(self, timeout: float | None = None) -> bool:
        """True once set; False if `timeout` seconds passed first."""
        if self._flag:
            return True
        if timeout is not None and timeout > LONGEST_WAIT:  # in steps: one acquire that long raises
            return wait_long(self._wait, timeout)
        return self._wait(timeout)

    def _wait(self, timeout: float | None) -> bool:
        if self._gate.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            try:  # noqa: SIM105 - suppress() costs three calls more, per waiter
                self._gate.release()
            except RuntimeError:  # a racing set() released it meanwhile
                pass
        return self._flag
