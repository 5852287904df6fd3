"""`TestEngine`: the real engine, in memory, on a virtual clock, with fake activities.

It is `Engine` itself — the same actors, recorder, replay and timer service —
built on a `MemoryStore` (or a store you give it) with a `VirtualClock`
(`engine.clock`), so a workflow that sleeps for a month finishes as soon as
its test waits for it. Activities run on threads unless registered with
`executor="process"`, and any activity can be replaced for the test by a fake
registered under its name (`activities={charge: fake_charge}`, or
`engine.fake(charge, fake_charge)`): workflows keep calling `charge`, and
the fake runs with the real activity's retry policy, timeouts and settings.
Idle runs stay resident unless `idle_evict_after=` says otherwise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Literal

from aion_actors.core import ConfigError
from aion_actors.engine import Engine
from aion_actors.queues import Queue
from aion_actors.runtime.definitions import ActivityDefinition, RetryPolicy, WorkflowDefinition
from aion_actors.store import EventStore
from aion_actors.store.memory import MemoryStore
from aion_actors.testing.clock import VirtualClock
from supervisor import RestartPolicy

#: an activity to fake: its definition (as `@activity` made it), or its registered name
Faked = ActivityDefinition[Any, Any] | str


class TestEngine(Engine):
    __test__ = False  # a class pytest should not collect

    def __init__(
        self,
        *,
        activities: Mapping[Faked, Callable[..., Any]] | None = None,
        start: dt.datetime | None = None,
        store: EventStore | None = None,
        **options: Any,
    ) -> None:
        """`activities` maps activities to the fakes that replace them; `start` is the
        virtual clock's first reading (now, by default); `store` defaults to a fresh
        `MemoryStore`; `options` are `Engine`'s (`threads=`, `converter=`, ...)."""
        #: the engine's virtual clock: `clock.advance(timedelta)`, `clock.now()`
        self.clock = VirtualClock(start)
        self._fakes: dict[str, ActivityDefinition[Any, Any]] = {}
        options.setdefault("idle_evict_after", None)
        super().__init__(MemoryStore() if store is None else store, clock=self.clock, **options)
        for real, fn in (activities or {}).items():
            self.fake(real, fn)

    def fake(self, activity: Faked, fn: Callable[..., Any]) -> None:
        """Run `fn` wherever a workflow calls `activity` (a definition or a name), on a thread."""
        if not callable(fn):
            raise ConfigError(f"the fake for activity {activity!r} must be callable, got {fn!r}")
        if isinstance(activity, ActivityDefinition):
            fake = dataclasses.replace(activity, fn=fn, executor="thread")
        elif isinstance(activity, str) and activity:
            fake = ActivityDefinition(fn=fn, name=activity, executor="thread")
        else:
            raise ConfigError(
                f"activities= takes @activity definitions or activity names, got {activity!r}"
            )
        self._fakes[fake.name] = fake
        super().register(fake, executor="thread", replace=True)

    def register(
        self,
        *definitions: WorkflowDefinition | ActivityDefinition[Any, Any] | Queue,
        restart: RestartPolicy | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        executor: Literal["process", "thread"] | None = "thread",
        replace: bool = False,
    ) -> None:
        """`Engine.register`, on threads by default; an activity that has a fake keeps it."""
        kept = [
            d
            for d in definitions
            if not (isinstance(d, ActivityDefinition) and d.name in self._fakes)
        ]
        super().register(
            *kept, restart=restart, retry=retry, timeout=timeout, executor=executor, replace=replace
        )
