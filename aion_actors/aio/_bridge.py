"""From engine threads to an asyncio loop: futures resolved with `call_soon_threadsafe`.

An engine thread (the recorder's, a run actor's) resolves what a caller
waits for; these helpers turn that into an `asyncio.Future` of the caller's
loop, without a thread waiting anywhere. A loop that has closed meanwhile
(its app shut down) is simply not told.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any


def _settle(future: asyncio.Future[Any], error: BaseException | None, value: Any) -> None:
    if future.done():  # its caller gave up (a timeout, a cancel)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def resolver(
    loop: asyncio.AbstractEventLoop,
) -> tuple[asyncio.Future[None], Callable[[BaseException | None], None]]:
    """A future of `loop`, and the callback (any thread) that resolves it: `None` sets its
    result, an exception sets it as its error. Shaped as an `Ack`'s `on_done`."""
    future: asyncio.Future[None] = loop.create_future()

    def resolve(error: BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(_settle, future, error, None)

    return future, resolve


def notifier(loop: asyncio.AbstractEventLoop) -> tuple[asyncio.Future[None], Callable[[], None]]:
    """A future of `loop`, and the no-argument callback (any thread) that sets it."""
    future, resolve = resolver(loop)
    return future, lambda: resolve(None)


async def within(future: asyncio.Future[Any], timeout: float | None, late: str) -> Any:
    """`await future`, raising `TimeoutError(late)` after `timeout` seconds."""
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        raise TimeoutError(late) from None
