"""Waking the callers that wait for a run to end, once the run table has closed it.

A run closes in its actor's turn, on a dispatcher thread, which then goes on
with the next actor's turn. Each caller waiting for the run (`result()`, an
`add_done_callback`) is a blocked thread to wake: the wake-up is a system
call, and the woken thread at once wants the GIL the dispatcher holds. With
hundreds of request threads each waiting for its own run, those wake-ups,
made one per closing from inside the dispatcher's run of turns, cost the
dispatcher and the woken threads alike. While other turns wait for the
dispatcher they are handed to the wake lane, one engine thread that wakes
them back to back and then blocks, leaving the GIL to those it woke
(`benchmarks/README.md`, issue 24 round 5: about 8 % less CPU per workflow
with 256 request threads). A dispatcher with nothing else to do (a lone run)
wakes them itself: no hand-off between a run's end and its caller.

Waiters are woken first, then the callbacks are called, each as before;
closing the engine wakes what was queued before the lane stops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.runtime.lane import Lane
from supervisor import Latch

log = logging.getLogger("aion_actors.runtime")

Callback = Callable[[ev.Event], None]


class Wakes:
    def __init__(self, lane: Lane, idle: Callable[[], bool]) -> None:
        #: wakes callers back to back while the dispatcher has turns to run
        self._lane = lane
        #: whether the dispatcher has no turn waiting (a hint)
        self._idle = idle

    def closed(
        self,
        key: RunKey,
        closing: ev.Event,
        watchers: Sequence[Latch],
        callbacks: Sequence[Callback],
    ) -> None:
        """Wake `watchers` and call `callbacks(closing)`: here if the dispatcher is idle
        (or the lane has stopped), else on the wake lane."""
        if not (watchers or callbacks):
            return
        if self._idle() or not self._lane.submit(wake, key, closing, watchers, callbacks):
            wake(key, closing, watchers, callbacks)


def wake(
    key: RunKey, closing: ev.Event, watchers: Sequence[Latch], callbacks: Sequence[Callback]
) -> None:
    for watcher in watchers:
        watcher.set()
    for callback in callbacks:
        try:
            callback(closing)
        except Exception:
            log.exception("a done-callback of run %s raised; ignored", key.run_id)
