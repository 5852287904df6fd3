"""What a worker process has been sent and not yet run: the attempts queued behind its current one.

The pool may send a worker several RUN messages ahead (see `_pacing`); the
worker runs them one at a time, in order. Before it starts each one, and
whenever its attempt heartbeats, it takes in everything the pipe holds, so
a CANCEL or STOP sent after a RUN is seen before that RUN starts: a CANCEL
of a queued attempt makes the worker answer it as cancelled without running
it; a CANCEL of the current attempt is read by its `heartbeat()`; a STOP
lets the current attempt finish and starts no other; a WITHDRAW (a drain)
lets it finish too and has the worker answer every RUN it holds, or gets
later, unrun (`WITHDRAWN`), so the pool learns which ones never started; a
CANCEL of an attempt already over is skipped.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

from aion_actors.core import unpackb
from aion_actors.workers._frames import FrameReader
from aion_actors.workers.errors import CancelReason

RUN: Final = 0
STOP: Final = 1
CANCEL: Final = 2
WITHDRAW: Final = 3


class Inbox:
    """The worker's queued RUN messages, and the cancels and stop that came for them."""

    __slots__ = ("_cancelled", "_reader", "_runs", "current", "stopping", "withdrawn")

    def __init__(self, fd: int) -> None:
        self._reader = FrameReader(fd)
        self._runs: deque[list[Any]] = deque()
        self._cancelled: dict[tuple[Any, ...], CancelReason] = {}
        #: the ids of the attempt running now (None between attempts)
        self.current: tuple[Any, ...] | None = None
        self.stopping = False
        #: set by a WITHDRAW: no RUN starts from then on, each is answered unrun
        self.withdrawn = False

    def next_run(self) -> list[Any] | None:
        """The next RUN message to start, waiting for one (None: stop; EOFError: the engine
        is gone)."""
        if self.current is not None:
            self._cancelled.pop(self.current, None)
            self.current = None
        self.take_in()
        while not self._runs and not self.stopping:
            self._take(self._reader.read())
        if self.stopping:
            return None
        message = self._runs.popleft()
        self.current = tuple(message[3])
        return message

    @property
    def cancelled(self) -> CancelReason | None:
        """Why the current attempt was cancelled (before it started, or since); None: it
        was not."""
        return None if self.current is None else self._cancelled.get(self.current)

    def take_in(self) -> None:
        """Everything the pipe holds now, without waiting (EOFError: the engine is gone)."""
        self._take(self._reader.drain())
        if self._reader.ended:
            raise EOFError

    def _take(self, frames: list[bytes]) -> None:
        for frame in frames:
            message = unpackb(frame)
            if message[0] == RUN:
                self._runs.append(message)
            elif message[0] == STOP:
                self.stopping = True
            elif message[0] == WITHDRAW:
                self.withdrawn = True
            elif message[0] == CANCEL:
                ids = tuple(message[1])
                if ids == self.current or any(tuple(m[3]) == ids for m in self._runs):
                    self._cancelled[ids] = CancelReason(message[2])
