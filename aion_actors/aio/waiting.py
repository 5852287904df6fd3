"""How `AsyncEngine.result` waits for a run to end, with no thread waiting and no poll:
woken by the run table for a run this engine holds, by the run's owner for one another
node holds (the node's watch of it, answered by the append that closes it there — or
parks it, for a caller raising on a park — heard through the node's listener: the way
`Engine.result` waits on a node)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable

from aion_actors.aio._bridge import receiver
from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.runtime.runs.port import Port


async def parked_or_closed(port: Port, key: RunKey, raise_on_park: bool) -> ev.Event | None:
    """Once run `key` next parks (None) or closes (its closing event), as this engine's
    run table tells; None at once if it does not hold the run open (or, with
    `raise_on_park`, it is parked now)."""
    parked_or_closed, receive = receiver(asyncio.get_running_loop())
    unwatch = port.watch(key, receive, now_if_parked=raise_on_park)
    try:
        closing: ev.Event | None = await parked_or_closed
        return closing
    finally:  # timed out or cancelled: the run keeps no watcher for it
        unwatch()


async def closed_elsewhere(
    port: Port, reads: concurrent.futures.Executor, key: RunKey, raise_on_park: bool
) -> None:
    """Once run `key`, held by another node (or by none yet), has closed — or, with
    `raise_on_park`, parked — at once if it has. The watch is recorded in the store on
    `reads` (a reader thread), and withdrawn if the caller gives up first (a timeout, a
    cancel)."""
    closed, receive = receiver(asyncio.get_running_loop())
    watch = functools.partial(port.watch_elsewhere, parks=raise_on_park)
    watching = reads.submit(watch, key, lambda: receive(None))
    try:
        await asyncio.wrap_future(watching)
        await closed
    finally:
        watching.cancel()  # (not begun: nothing recorded, nothing to withdraw)
        watching.add_done_callback(_withdraw)


def _withdraw(watching: concurrent.futures.Future[Callable[[], None]]) -> None:
    """Withdraw the watch `watching` recorded, if it recorded one (this never blocks)."""
    if not watching.cancelled() and watching.exception() is None:
        watching.result()()
