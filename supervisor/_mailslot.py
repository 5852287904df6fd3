"""`Mailslot`: tells to one actor from many threads, coalesced into one message each wave."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Coalesced", "Mailslot"]


@dataclass(frozen=True, slots=True)
class Coalesced:
    """What the actor is told: take what waits in ``slot`` and handle it in order."""

    slot: Mailslot


class Mailslot:
    """Messages for one actor, sent from other threads, delivered in waves.

    A host starts and ends hundreds of children a second, each telling its
    supervisor twice (adopted, exited). Told one by one, each tell may wake the
    supervisor's thread and hand the GIL over. Put here, only the first of a wave
    tells the actor (a `Coalesced`); the actor takes the whole wave when that
    message's turn comes. Order is kept: everything put before a message is sent
    to the actor the usual way is taken at or before that message's turn (its
    `Coalesced` is queued ahead of it, and takes all that waits when it runs).
    """

    __slots__ = ("_items", "_lock", "_tell")

    def __init__(self, tell: Callable[[object], None]) -> None:
        #: tells the actor (raises `pykka.ActorDeadError` once it has stopped); fixed
        self._tell = tell
        #: guards ``_items``
        self._lock = threading.Lock()
        #: put and not yet taken; non-empty exactly while a `Coalesced` is on its way
        self._items: list[object] = []

    def put(self, item: object) -> None:
        """Queue ``item``; tell the actor if no `Coalesced` is on its way. What `tell`
        raises (the actor has stopped) propagates, and ``item`` is not kept."""
        with self._lock:
            self._items.append(item)
            if len(self._items) > 1:
                return
        try:
            self._tell(Coalesced(self))
        except BaseException:
            with self._lock:  # the actor has stopped: nothing put now will run
                self._items = []
            raise

    def take(self) -> list[object]:
        """Everything put so far, in order; the next put tells the actor again."""
        with self._lock:
            items, self._items = self._items, []
        return items
