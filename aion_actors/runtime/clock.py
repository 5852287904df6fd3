"""Where the engine's time comes from: one `Clock`, handed to each part that reads it.

Every time the engine records or computes goes through it: the `recorded_at`
a run actor stamps on each event (so `ctx.now()` and every timer's fire
time), a retry's backoff, a run's timeouts, and the timer service's wait for
the next durable timer. `SystemClock` is the wall clock; the testing kit's
`VirtualClock` (`aion_actors.testing`) moves only when told, or jumps to the
next due timer while the engine has nothing else to do.

The engine tells its clock four things, all no-ops for the wall clock:
`watch(engine)` gives it the engine's idleness test once at start,
`settled()` is called by whoever may have made the engine idle (see
`aion_actors.runtime.quiet` for who, and why nobody needs to poll),
`waiting(workflow_id)` brackets a caller blocked until a run ends, and `alarm(a)` tells
it of an `Alarm` (a rate limit's wake-up), whose instants a virtual clock
stops at as it does at timers.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Collection, Iterator
from typing import Protocol

from supervisor import bounded


class Quietness(Protocol):
    """What a clock may ask the engine (see `aion_actors.runtime.quiet`)."""

    def is_quiet(self) -> bool:
        """Whether the engine has nothing in hand but its timers."""

    def next_timer(self) -> int | None:
        """The fire time of the earliest durable timer, None if there is none."""

    def waits_on_time(self, workflow_ids: Collection[str]) -> bool:
        """Whether time can move one of these workflows' open runs on: it, or a run it
        started, has a durable timer, or it waits in a queue for a slot."""


class Alarmed(Protocol):
    """An alarm a clock may be told of (`aion_actors.runtime.alarm`): the instant it waits
    for is real work, and it may be busy calling back. Read without its lock."""

    #: the earliest instant armed, None when nothing is
    next_at: int | None

    @property
    def busy(self) -> bool:
        """Whether it has a call due or running."""

    def wake(self) -> None:
        """Time moved: look at what is due."""


class Clock(Protocol):
    def now_ns(self) -> int:
        """Now, in ns since the epoch. Must not block: it is read under other locks."""

    def wait(self, cond: threading.Condition, until_ns: int) -> None:
        """Called holding `cond`: return once `until_ns` has come, or `cond` is notified,
        or at any time before (callers loop)."""

    def watch(self, engine: Quietness) -> None:
        """What to ask the engine before moving time by itself; told once, at start."""

    def settled(self) -> None:
        """Something that kept the engine busy has just finished."""

    def alarm(self, alarm: Alarmed) -> bool:
        """`alarm` waits for instants of this clock. True: the clock wakes it (`wake`)
        when time reaches its `next_at`, so it waits untimed; False: it waits with `wait`."""

    def waiting(self, workflow_id: str) -> contextlib.AbstractContextManager[None]:
        """While inside, a caller is blocked until the run of `workflow_id` ends."""


class SystemClock:
    """The wall clock (`time.time_ns`); the default."""

    def now_ns(self) -> int:
        return time.time_ns()

    def wait(self, cond: threading.Condition, until_ns: int) -> None:
        # a deadline centuries away (a long retention, a rate window) is waited for a
        # day at a time: one wait past threading.TIMEOUT_MAX raises (callers loop)
        cond.wait(bounded(max(0.0, (until_ns - time.time_ns()) / 1e9)))

    def watch(self, engine: Quietness) -> None:
        pass

    def settled(self) -> None:
        pass

    def alarm(self, alarm: Alarmed) -> bool:
        return False

    @contextlib.contextmanager
    def waiting(self, workflow_id: str) -> Iterator[None]:
        yield


#: the one wall clock every engine without a clock of its own shares
SYSTEM_CLOCK = SystemClock()
