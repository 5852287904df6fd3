"""Restart policy: strategy, intensity (a sliding window) and backoff.

The maths lives here, apart from the actor, so that it is exact and testable:
the clock and the random source are passed in, never read from globals.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "Backoff",
    "OnExhausted",
    "RestartPolicy",
    "RestartType",
    "RestartWindow",
    "Strategy",
]

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
RestartType = Literal["permanent", "transient", "temporary"]
OnExhausted = Literal["escalate", "fail", "park"]

STRATEGIES: tuple[Strategy, ...] = ("one_for_one", "one_for_all", "rest_for_one")
RESTART_TYPES: tuple[RestartType, ...] = ("permanent", "transient", "temporary")
ON_EXHAUSTED: tuple[OnExhausted, ...] = ("escalate", "fail", "park")


#: the largest restart budget (`max_restarts`): a window holds one slot per restart, and
#: a budget this large never runs out in a process's life anyway
MOST_RESTARTS: Final = 1_000_000_000


def _finite_at_least(value: float, low: float) -> bool:
    """Whether `value` is a finite number >= `low` (False for NaN, which passes `< low`)."""
    return isinstance(value, int | float) and math.isfinite(value) and value >= low


@dataclass(frozen=True)
class Backoff:
    """Delay before a restart: ``min(max, initial * multiplier**n) * (1 + jitter * U[0,1))``.

    ``n`` is the number of earlier restarts still inside the intensity window, so the
    first restart after a quiet period waits ``initial`` and a crash loop backs off.
    The default (``initial=0``) restarts at once, as OTP does.
    """

    initial: float = 0.0
    multiplier: float = 2.0
    max: float = 30.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        for name in ("initial", "max", "jitter"):
            if not _finite_at_least(getattr(self, name), 0):  # (NaN too: it passes `< 0`)
                raise ValueError(
                    f"Backoff({name}={getattr(self, name)!r}): must be a finite number >= 0"
                )
        if not _finite_at_least(self.multiplier, 1):
            raise ValueError(
                f"Backoff(multiplier={self.multiplier!r}): must be a finite number >= 1 "
                "(a shrinking delay would make crash loops faster)"
            )

    def delay(self, n: int, random: Callable[[], float]) -> float:
        """Seconds to wait before the restart that has ``n`` earlier restarts in its window."""
        if self.initial == 0.0:
            return 0.0
        try:
            base = min(self.max, self.initial * self.multiplier**n)
        except OverflowError:
            base = self.max
        if self.jitter:
            base *= 1.0 + self.jitter * random()
        return base


@dataclass(frozen=True)
class RestartPolicy:
    """How a supervisor reacts to a child's exit (Erlang/OTP semantics).

    More than ``max_restarts`` restarts within ``within_seconds`` exhausts the
    intensity. ``on_exhausted`` says what happens then:

    * ``"escalate"`` (OTP): all children count against one shared window; when it is
      exhausted the supervisor stops every child and exits with reason ``shutdown``,
      so its own supervisor applies *its* policy.
    * ``"fail"`` / ``"park"``: each child has its own window; an exhausted child is
      dropped (its spec forgotten) and its ``ChildSpec.on_exhausted`` hook is called
      with this word, while its siblings and the supervisor carry on. The supervisor
      does the same for both; the word tells the host what to record.

    ``restart`` is the restart type of children whose `ChildSpec` does not set one.
    """

    strategy: Strategy = "one_for_one"
    max_restarts: int = 3
    within_seconds: float = 5.0
    backoff: Backoff = field(default_factory=Backoff)
    on_exhausted: OnExhausted = "escalate"
    restart: RestartType = "permanent"

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"RestartPolicy(strategy={self.strategy!r}): use one of {STRATEGIES}")
        if self.on_exhausted not in ON_EXHAUSTED:
            raise ValueError(
                f"RestartPolicy(on_exhausted={self.on_exhausted!r}): use one of {ON_EXHAUSTED}"
            )
        if self.restart not in RESTART_TYPES:
            raise ValueError(f"RestartPolicy(restart={self.restart!r}): use one of {RESTART_TYPES}")
        if isinstance(self.max_restarts, bool) or not isinstance(self.max_restarts, int):
            raise TypeError(f"RestartPolicy(max_restarts={self.max_restarts!r}): must be an int")
        if not 0 <= self.max_restarts <= MOST_RESTARTS:
            raise ValueError(
                f"RestartPolicy(max_restarts={self.max_restarts}): must be >= 0 and at most "
                f"{MOST_RESTARTS:_}"
            )
        if not (_finite_at_least(self.within_seconds, 0) and self.within_seconds > 0):
            raise ValueError(
                f"RestartPolicy(within_seconds={self.within_seconds!r}): must be a finite "
                "number of seconds > 0"
            )


class RestartWindow:
    """Restart times inside the sliding intensity window (OTP's ``restarts`` list)."""

    __slots__ = ("_times", "_within")

    def __init__(self, policy: RestartPolicy, earlier: Iterable[float] = ()) -> None:
        self._within = policy.within_seconds
        self._times: deque[float] = deque(sorted(earlier), maxlen=policy.max_restarts + 1)

    def add(self, now: float) -> int:
        """Record a restart at ``now``; return how many restarts the window now holds."""
        times = self._times
        cutoff = now - self._within
        while times and times[0] <= cutoff:
            times.popleft()
        times.append(now)
        return len(times)

    def seed(self, times: Iterable[float]) -> None:
        """Add restarts that happened earlier (e.g. before a host restart)."""
        self._times = deque(sorted((*self._times, *times)), maxlen=self._times.maxlen)
