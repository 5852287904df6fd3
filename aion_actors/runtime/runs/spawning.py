"""Where a started run's actor is spawned: in its caller's thread, or on the spawn lane.

`Engine.start` reserves the run, spawns its actor (its spec, the pooled
actor, its registration with the supervisor) and waits for the commit of its start. A
caller alone spawns in its own thread: nothing is handed over before its
first commit. While other callers are starting runs too (a service with many
request threads), each such spawn is a burst of Python in its own thread,
broken up again and again by the GIL's hand-offs between hundreds of
threads; the spawn lane does them back to back in one engine thread instead,
and the caller only queues its run and waits for its commit, as before.
(`benchmarks/README.md`, issue 24 round 5: about 7 % less CPU per workflow
with 256 request threads.) Such a caller hands over its whole admission, not
only the spawn: the lane builds the run's opening (its stamped `WorkflowStarted`)
and hands it to the run's entry too (round 8), and the caller only reserves
the workflow_id, which must refuse a second start before `start` returns.

A spawn the lane refuses (it closed: the engine closes) is made in the
caller's thread after all: `Residency.spawn` then finds the table shut and
tells the start's caller `EngineClosed` (nothing of it was recorded).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from aion_actors.core import RunKey
from aion_actors.runtime.lane import Lane

#: spawn the actor of generation `int` of the run (`Residency.spawn`)
Spawn = Callable[[RunKey, int], object]


class Spawner:
    def __init__(self, spawn: Spawn, lane: Lane) -> None:
        #: spawns the actor, or tells the start's caller `EngineClosed` once the table is shut
        self._spawn = spawn
        #: runs the spawns handed over, in order; closed by the run manager
        self._lane = lane
        #: callers between their admission and the end of their wait (see `starting`)
        self._starting = 0
        self._lock = threading.Lock()

    def starting(self) -> bool:
        """A caller begins to start runs: whether others are starting runs meanwhile
        (then its spawns go to the lane). Pair with `started`."""
        with self._lock:
            self._starting += 1
            return self._starting > 1

    def started(self) -> None:
        with self._lock:
            self._starting -= 1

    def hand_over(self, fn: Callable[..., object], *args: Any) -> bool:
        """Queue `fn(*args)` (a crowded start's whole admission: its opening built and
        handed to its entry, then its spawn) on the lane; False once the lane has closed
        (the caller does it itself)."""
        return self._lane.submit(fn, *args)

    def spawn(self, key: RunKey, generation: int, *, here: bool) -> None:
        """Spawn the run's actor now in this thread (`here`, or the lane has closed),
        else queue it on the lane."""
        if here or not self._lane.submit(self._spawn, key, generation):
            self._spawn(key, generation)
