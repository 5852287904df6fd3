"""From engine threads to an asyncio loop: futures resolved through the loop's `Inbox`.

An engine thread (the recorder's, a run actor's) resolves what a caller
waits for; these helpers turn that into an `asyncio.Future` of the caller's
loop, without a thread waiting anywhere. Resolutions go into the loop's
inbox, which wakes the loop with `call_soon_threadsafe` only when it was
empty: a commit that resolves 200 callers' futures wakes the loop once, not
200 times (each wake is a write to the loop's self-pipe). A loop that has
closed meanwhile (its app shut down) is simply not told.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import weakref
from collections.abc import Callable
from typing import Any

_Resolution = tuple["asyncio.Future[Any]", BaseException | None, Any]


class Inbox:
    """Resolutions waiting for one loop; drained in one callback on that loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: collections.deque[_Resolution] = collections.deque()
        self._lock = threading.Lock()
        self._scheduled = False

    def put(self, future: asyncio.Future[Any], error: BaseException | None, value: Any) -> None:
        """From any thread: settle `future` on its loop, soon."""
        with self._lock:
            self._items.append((future, error, value))
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            items, self._items = self._items, collections.deque()
            self._scheduled = False
        for future, error, value in items:
            if future.done():  # its caller gave up (a timeout, a cancel)
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)


_INBOXES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Inbox] = weakref.WeakKeyDictionary()


def _inbox(loop: asyncio.AbstractEventLoop) -> Inbox:
    inbox = _INBOXES.get(loop)
    if inbox is None:  # only the loop's own thread makes one (callers run on their loop)
        inbox = _INBOXES[loop] = Inbox(loop)
    return inbox


def resolver(
    loop: asyncio.AbstractEventLoop,
) -> tuple[asyncio.Future[None], Callable[[BaseException | None], None]]:
    """A future of `loop`, and the callback (any thread) that resolves it: `None` sets its
    result, an exception sets it as its error. Shaped as an `Ack`'s `on_done`."""
    future: asyncio.Future[None] = loop.create_future()
    inbox = _inbox(loop)
    return future, lambda error: inbox.put(future, error, None)


def receiver(loop: asyncio.AbstractEventLoop) -> tuple[asyncio.Future[Any], Callable[[Any], None]]:
    """A future of `loop`, and the callback (any thread) that sets its result."""
    future: asyncio.Future[Any] = loop.create_future()
    inbox = _inbox(loop)
    return future, lambda value: inbox.put(future, None, value)


async def within(future: asyncio.Future[Any], timeout: float | None, late: str) -> Any:
    """`await future`, raising `TimeoutError(late)` after `timeout` seconds."""
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        raise TimeoutError(late) from None
