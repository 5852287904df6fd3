"""A run's mailbox, which loses no message when its actor stops.

Pykka drops `tell`s still queued when an actor stops, and a sender that
looked the actor up a moment before can still put one in after that. For
an evicted run such a message (a child's result, a due timer) is the only
thing that would wake it, so a stopped actor's mailbox is *sealed*: what it
holds, and whatever arrives later, goes to a forwarder instead.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

#: Pykka's envelope (`message`, `reply_to`); its class is private to Pykka.
Envelope = Any


class Mailbox:
    """The `queue.SimpleQueue` a Pykka actor reads, plus `seal`."""

    __slots__ = ("_forward", "_lock", "_queue")

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Envelope] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._forward: Callable[[Envelope], None] | None = None

    def put(self, envelope: Envelope, block: bool = True, timeout: float | None = None) -> None:
        with self._lock:
            forward = self._forward
            if forward is None:
                self._queue.put(envelope)
                return
        forward(envelope)

    def get(self, block: bool = True, timeout: float | None = None) -> Envelope:
        return self._queue.get(block, timeout)

    def empty(self) -> bool:
        return self._queue.empty()

    def seal(self, forward: Callable[[Envelope], None]) -> None:
        """Hand every envelope, queued or late, to `forward` (in the sender's thread)."""
        with self._lock:
            self._forward = forward
            left: list[Envelope] = []
            while not self._queue.empty():
                left.append(self._queue.get_nowait())
        for envelope in left:
            forward(envelope)
