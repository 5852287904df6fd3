"""Where each recorded signal goes: to a handler, or to the wait that takes it.

A signal is routed once, in the order history recorded it, when the run
processes it:

1. to the handler set for its name (`ctx.on_signal(name, handler)`);
2. else, unless the coroutine is waiting on `wait_signal(name)`, to the
   catch-all handler (`ctx.on_signal(None, handler)`), called `(name, payload)`;
3. else it stays buffered: the next `wait_signal(name)` takes it, or a handler
   set later receives it — every buffered signal of its names, in order, when
   it is set.

Replays route the same way, because handlers change only at the coroutine's
own steps and inside deliveries, and both happen at points history fixes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator

from aion_actors.core import events as ev
from aion_actors.runtime.recorded import Outcomes

Handler = Callable[..., object]


class SignalRouter:
    """One run's signal handlers, and which signals are already taken."""

    def __init__(self, outcomes: Outcomes, at_seq: int) -> None:
        self._outcomes = outcomes
        #: named handlers, and the catch-all under None; changed only by workflow code
        self._handlers: dict[str | None, Handler] = {}
        #: seqs of signals a wait or a handler has taken: never offered again
        self.taken: set[int] = set()
        #: seq of the last event the workflow has seen; later signals have not "arrived"
        self.at_seq = at_seq
        #: names the coroutine's current await waits on with `wait_signal`
        self.waited: frozenset[str] = frozenset()
        #: index into `outcomes.ordered_signals` of the first signal past `at_seq`
        self._walked = 0

    def set_handler(self, name: str | None, handler: Handler | None, whose: str) -> None:
        """Set (or with None remove) a handler; buffered signals it covers reach it now."""
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"ctx.on_signal takes a signal name or None, got {name!r}")
        if handler is None:
            self._handlers.pop(name, None)
            return
        if not callable(handler) or inspect.iscoroutinefunction(handler):
            raise TypeError(
                f"ctx.on_signal({name!r}, ...) of workflow {whose!r} takes a plain function "
                f"(got {handler!r}); to run commands on a signal, let the handler change "
                "state and `await ctx.wait_condition(...)` on it in the workflow body"
            )
        if name is not None and name in self.waited:
            raise ValueError(
                f"workflow {whose!r} is waiting on ctx.wait_signal({name!r}); a name is "
                "either handled or waited on — set the handler before or after the wait"
            )
        self._handlers[name] = handler
        for signal in list(self._buffered(name)):
            if signal.seq not in self.taken:  # a handler before it may have taken it
                self.deliver(signal)

    def covers(self, name: str) -> bool:
        """True when signals of `name` go to a named handler (so no wait can take them)."""
        return name in self._handlers

    def next_routed(self, before: int) -> ev.SignalReceived | None:
        """The oldest signal after `at_seq` and before `before` that a handler takes."""
        ordered = self._outcomes.ordered_signals
        while self._walked < len(ordered) and ordered[self._walked].seq <= self.at_seq:
            self._walked += 1
        for signal in ordered[self._walked :]:
            if signal.seq >= before:
                return None
            if signal.seq not in self.taken and self._route(signal.name) is not None:
                return signal
        return None

    def deliver(self, signal: ev.SignalReceived) -> None:
        """Take `signal` and call its handler; the handler's exceptions propagate."""
        handler = self._route(signal.name)
        assert handler is not None
        self.taken.add(signal.seq)
        self.at_seq = max(self.at_seq, signal.seq)
        if self._handlers.get(signal.name) is handler:
            handler(signal.payload)
        else:
            handler(signal.name, signal.payload)

    def _route(self, name: str) -> Handler | None:
        if (handler := self._handlers.get(name)) is not None:
            return handler
        return None if name in self.waited else self._handlers.get(None)

    def _buffered(self, name: str | None) -> Iterator[ev.SignalReceived]:
        """Arrived, untaken signals that `name`'s handler now covers, oldest first."""
        for signal in self._outcomes.ordered_signals:
            if signal.seq > self.at_seq:
                return
            wanted = name is None or signal.name == name
            if wanted and signal.seq not in self.taken and self._route(signal.name) is not None:
                yield signal
