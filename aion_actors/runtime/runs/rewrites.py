"""Requests written on a run's behalf (it has no actor that may write: parked, awaiting its
type, being terminated) that the store refused while it could not write, and whose callers
gave up waiting — told "it is not lost". They wait here for the recorder's word that the
store writes again, and are written then, on the owner lane; `close` gives up what is
left (each logged as lost by its ack's abandon callback)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from aion_actors.core import EngineClosed, RunKey, StoreUnavailable
from aion_actors.runtime import messages as msg
from aion_actors.runtime.lane import Lane
from aion_actors.store import Recorder

Write = Callable[[RunKey, msg.RequestMessage], None]


class Rewrites:
    def __init__(self, recorder: Recorder, lane: Lane, write: Write) -> None:
        self._recorder = recorder
        self._lane = lane
        self._write = write
        self._lock = threading.Lock()
        #: kept requests not yet tried again, oldest first (`_flush` takes them all)
        self._held: list[tuple[RunKey, msg.RequestMessage]] = []
        recorder.when_available(self._again)

    def keep(self, key: RunKey, request: msg.RequestMessage, error: BaseException) -> bool:
        """Whether `request`, which `error` kept from being written, waits here: the
        recorder knows the store cannot write (it says when it can) and its caller gave up.
        Else its caller hears `error` (False)."""
        if not isinstance(error, StoreUnavailable) or self._recorder.unavailable is None:
            return False
        if not request.ack.keep(error):
            return False
        with self._lock:
            self._held.append((key, request))
        if self._recorder.unavailable is None:  # it came back meanwhile: its word is past
            self._again()
        return True

    def _again(self) -> None:
        """The store writes again (the recorder's thread: quick)."""
        self._lane.submit(self._flush)

    def _flush(self) -> None:
        """Write what was held when the store came back (one refused again waits here for
        the next word, and is not tried again in this turn)."""
        with self._lock:
            held, self._held = self._held, []
        for key, request in held:
            self._write(key, request)

    def close(self) -> None:
        """The engine closes: what is still held is lost (its ack's callback logs it)."""
        with self._lock:
            held, self._held = self._held, []
        for _, request in held:
            request.ack.resolve(EngineClosed())
