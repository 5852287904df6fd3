"""`Handle`: what a `Registry` holds for one supervised thing, and its completion notifier."""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from supervisor._latch import Latch

__all__ = ["CompletionNotifier", "Handle", "Outcome", "Residency"]

logger = logging.getLogger("supervisor")

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Residency(enum.StrEnum):
    """Where a registered thing lives: ``resident`` (an actor runs), ``evicted`` (durable
    only, rebuilt on demand) or ``parked`` (restarts exhausted; waits for an operator)."""

    RESIDENT = "resident"
    EVICTED = "evicted"
    PARKED = "parked"


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """How something ended: a ``value`` or an ``error``."""

    value: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> T | None:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value


class CompletionNotifier(Generic[T]):
    """A set-once outcome. Unlike a bare event or callback list, a subscriber that
    arrives after completion still gets the outcome (at once, in its own thread).

    A host keeps one per registered thing, most of which nobody ever waits on, so
    the event a waiter blocks on and the callback list exist only once wanted.
    """

    __slots__ = ("_callbacks", "_done", "_lock", "_outcome")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: Latch | None = None
        self._outcome: Outcome[T] | None = None
        self._callbacks: list[Callable[[Outcome[T]], None]] | None = None

    def complete(self, value: T) -> bool:
        """Set the value; False (and no change) if an outcome was already set."""
        return self._settle(Outcome(value=value))

    def fail(self, error: BaseException) -> bool:
        """Set the error; False (and no change) if an outcome was already set."""
        return self._settle(Outcome(error=error))

    def subscribe(self, callback: Callable[[Outcome[T]], None]) -> None:
        """Call ``callback(outcome)`` once: on completion, or now if already complete."""
        with self._lock:
            outcome = self._outcome
            if outcome is None:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(callback)
                return
        _run(callback, outcome)

    def wait(self, timeout: float | None = None) -> Outcome[T]:
        """Block until complete; raise `TimeoutError` after ``timeout`` seconds."""
        with self._lock:
            if self._outcome is None and self._done is None:
                self._done = Latch()
            done = self._done
        if done is not None and not done.wait(timeout):
            raise TimeoutError(f"no outcome within {timeout} s")
        assert self._outcome is not None
        return self._outcome

    @property
    def outcome(self) -> Outcome[T] | None:
        return self._outcome

    def done(self) -> bool:
        return self._outcome is not None

    def _settle(self, outcome: Outcome[T]) -> bool:
        with self._lock:
            if self._outcome is not None:
                return False
            self._outcome = outcome
            callbacks, self._callbacks = self._callbacks or [], None
            done = self._done
        if done is not None:
            done.set()
        for callback in callbacks:
            _run(callback, outcome)
        return True

    def __repr__(self) -> str:
        return f"<CompletionNotifier {self._outcome!r}>"


def _run(callback: Callable[[Outcome[T]], None], outcome: Outcome[T]) -> None:
    try:
        callback(outcome)
    except Exception:
        logger.exception("completion subscriber %r raised; ignored", callback)


@dataclass(frozen=True)
class Handle(Generic[K]):
    """One registered thing: immutable, so a snapshot never changes under its reader.

    ``kind`` is its type name (e.g. the workflow type), ``version`` the code version it
    was loaded with, ``status`` the cached status (a cache: `Registry.reconcile`
    overwrites it with the projected truth), ``ref`` whatever talks to it (an actor ref
    while resident). The ``completion`` notifier is shared by every copy.
    """

    key: K
    pid: int | None
    kind: str
    version: str | None = None
    status: str | None = None
    residency: Residency = Residency.RESIDENT
    ref: Any = field(default=None, compare=False)
    completion: CompletionNotifier[Any] = field(default_factory=CompletionNotifier, compare=False)

    def replace(self, **changes: Any) -> Handle[K]:
        """A copy with ``changes`` applied (same completion notifier).

        A shallow copy with the changed fields set: the run table replaces a
        handle several times per run, and `dataclasses.replace` costs 2.5x more.
        """
        unknown = changes.keys() - _HANDLE_FIELDS
        if unknown:
            raise TypeError(f"Handle.replace: no field(s) {sorted(unknown)}")
        copied: Handle[K] = object.__new__(type(self))
        copied.__dict__.update(self.__dict__, **changes)
        return copied


_HANDLE_FIELDS = frozenset(f.name for f in dataclasses.fields(Handle))
