"""`Commit`: one append queued in the `Recorder`, and what its writer resolves."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from aion_actors.core import Event

log = logging.getLogger("aion_actors.store.recorder")


class Outcome(Protocol):
    """What the writer resolves: a `Future`, or the lighter `Commit`."""

    def set_running_or_notify_cancel(self) -> bool: ...
    def set_result(self, result: list[Event]) -> None: ...
    def set_exception(self, exception: BaseException | None) -> None: ...


#: called from the writer thread with (stamped events, None) or (None, error)
Then = Callable[[list[Event] | None, BaseException | None], None]


class Commit:
    """One queued append, cheaper than a `Future`: a lock to wait on, and an optional
    callback the writer calls right after the commit (it must be quick)."""

    __slots__ = ("_done", "_error", "_result", "_then")

    def __init__(self, then: Then | None = None) -> None:
        self._done = threading.Lock()
        self._done.acquire()
        self._result: list[Event] = []
        self._error: BaseException | None = None
        self._then = then

    def set_running_or_notify_cancel(self) -> bool:
        return True

    def set_result(self, result: list[Event]) -> None:
        self._result = result
        self._done.release()
        self._call(result, None)

    def set_exception(self, exception: BaseException | None) -> None:
        self._error = exception
        self._done.release()
        self._call(None, exception)

    def _call(self, result: list[Event] | None, error: BaseException | None) -> None:
        if self._then is None:
            return
        try:
            self._then(result, error)
        except Exception:
            log.exception("a commit callback raised; ignored")

    def wait(self, timeout: float | None) -> list[Event]:
        if not self._done.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError(f"append not committed within {timeout} s; it may still commit")
        self._done.release()
        if self._error is not None:
            raise self._error
        return self._result
