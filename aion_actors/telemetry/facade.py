"""`Telemetry`: what the engine tells a monitoring system, as it happens live.

The recorder hands it each commit (the appends, their stamped events, how
long the commit took); the run manager tells it what leaves no event
(evictions, rehydrations) and how to count resident and open runs. Events
are reported once, when they are first committed: a run rebuilt by replay
records nothing again, so nothing is reported again.

Two implementations: `NoTelemetry` (the default without `opentelemetry`,
which costs one method call per commit) and `OtelTelemetry`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aion_actors.core import Event


class Append(Protocol):
    """One committed append (a `store.AppendRequest`): which run it went to."""

    @property
    def workflow_id(self) -> str: ...
    @property
    def run_id(self) -> str: ...


#: the recorded history of a run, (workflow_id, run_id) -> events, for a run first seen
#: after a restart (what it started as, which activities it had in flight)
History = Callable[[str, str], Sequence[Event]]


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What the run table holds now, for the resident and open run gauges."""

    resident: int
    open: int


class Telemetry(Protocol):
    def committed(
        self,
        appends: Sequence[Append],
        results: Sequence[Sequence[Event] | BaseException],
        seconds: float,
    ) -> None:
        """A commit of `appends` took `seconds`; each result is the append's stamped
        events or its own error (nothing of it was recorded)."""

    def evicted(self, workflow_type: str) -> None:
        """A run of `workflow_type` left memory (it comes back by replay when needed)."""

    def rehydrated(self, workflow_type: str) -> None:
        """A run of `workflow_type` was brought back into memory by replay."""

    def watch_runs(self, counts: Callable[[], RunCounts]) -> None:
        """Report `counts()` as the resident and open run gauges, until `close`."""

    def close(self) -> None:
        """The engine closes: spans of runs still open end here (a span per live stretch)."""
