"""`TypeWaiters`: what waits for a workflow type to be registered.

A service registers its definitions after `Engine.open`, and recovery meets
runs, children and continue-as-new successors whose types are not
registered yet. None of them may fail meanwhile: each waits here under its
type's name, once per identity, and is woken on a lane when that type is
registered — as an activity's attempt waits in `Attempts`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from aion_actors.core import RunKey
from aion_actors.runtime.lane import Lane


@dataclass(frozen=True, slots=True)
class Waiter:
    """Something held up until a workflow type is registered."""

    #: the run it concerns, for `describe().waiting_for`
    run: RunKey
    #: what `describe` and `query` say while it waits
    reason: str
    #: called on the lane once the type is registered
    wake: Callable[[], object]


class TypeWaiters:
    def __init__(self, is_registered: Callable[[str], bool], lane: Lane) -> None:
        self._is_registered = is_registered
        self._lane = lane
        self._lock = threading.Lock()
        #: type name -> identity -> waiter; a type's waiters leave together when it registers
        self._waiting: dict[str, dict[Hashable, Waiter]] = {}

    def add(self, type_name: str, ident: Hashable, waiter: Waiter) -> None:
        """Hold `waiter` until `type_name` is registered (a second one with `ident` is dropped)."""
        with self._lock:
            self._waiting.setdefault(type_name, {}).setdefault(ident, waiter)
        if self._is_registered(type_name):  # registered meanwhile
            self.registered([type_name])

    def registered(self, names: Iterable[str]) -> None:
        """Types registered now: their waiters are woken on the lane, in arrival order."""
        with self._lock:
            woken = [w for name in names for w in self._waiting.pop(name, {}).values()]
        if woken:
            self._lane.submit(_wake_all, woken)

    def reason(self, run: RunKey) -> str | None:
        """Why `run` cannot go on yet, if something of it waits here."""
        with self._lock:
            for waiters in self._waiting.values():
                for waiter in waiters.values():
                    if waiter.run == run:
                        return waiter.reason
        return None

    def counts(self) -> Counter[str]:
        """How many waiters each missing type holds up."""
        with self._lock:
            return Counter({name: len(waiters) for name, waiters in self._waiting.items()})


def waiting_for_type(name: str) -> str:
    """What a run of an unregistered workflow type waits for, in words."""
    return f"waiting for workflow type {name!r} to be registered"


def _wake_all(waiters: list[Waiter]) -> None:
    for waiter in waiters:
        waiter.wake()
