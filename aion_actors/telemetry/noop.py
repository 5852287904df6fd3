"""`NoTelemetry`: reports nothing, costs nothing (the default without `opentelemetry`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aion_actors.core import Event
from aion_actors.telemetry.facade import Append, RunCounts


class NoTelemetry:
    """Every method does nothing."""

    def committed(
        self,
        appends: Sequence[Append],
        results: Sequence[Sequence[Event] | BaseException],
        seconds: float,
    ) -> None:
        pass

    def evicted(self, workflow_type: str) -> None:
        pass

    def rehydrated(self, workflow_type: str) -> None:
        pass

    def watch_runs(self, counts: Callable[[], RunCounts]) -> None:
        pass

    def close(self) -> None:
        pass


NO_TELEMETRY = NoTelemetry()
