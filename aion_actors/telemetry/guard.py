"""Telemetry that cannot hurt the engine: what a report raises is logged and ignored.

A span processor or exporter that raises, an instrument whose backend fails: the
report is lost, the commit, the run and the engine go on. The engine calls its
telemetry only through `Guarded` (or `NoTelemetry`, which cannot fail), and
`OtelTelemetry` guards each of its reports on its own (`Complaints.guard`), so one
failing report loses no other.

A broken exporter fails at every event: each kind of failure is logged at once the
first time (with its traceback), then at most once every `QUIET` seconds, saying how
many were not logged meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from aion_actors.core import Event
from aion_actors.telemetry.facade import Append, RunCounts, Telemetry
from aion_actors.telemetry.noop import NoTelemetry

log = logging.getLogger("aion_actors.telemetry")

#: seconds between two log lines about the same kind of telemetry failure
QUIET = 300.0


class Complaints:
    """Logs what goes wrong with telemetry, once per kind every `QUIET` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: kind -> (monotonic time it was last logged, how often since without a line)
        self._said: dict[str, tuple[float, int]] = {}

    def failed(self, kind: str, error: BaseException, where: str = "") -> None:
        """`kind` of report (what it does, which instrument or span) raised `error`
        (`where`: for which run); logged as an error, with the traceback the first time."""
        due = self._due(kind)
        if due is None:
            return
        first, missed = due
        log.error(
            "telemetry: %s failed%s: %s: %s; ignored, the engine goes on without this report%s",
            kind,
            f" ({where})" if where else "",
            type(error).__name__,
            error,
            _since(missed),
            exc_info=error if first else None,
        )

    def warn(self, kind: str, message: str) -> None:
        """A warning about `kind`, as rarely as `failed` logs."""
        due = self._due(kind)
        if due is not None:
            log.warning("%s%s", message, _since(due[1]))

    def guard(self, kind: str, where: str = "") -> Guard:
        """`with complaints.guard(kind, where): ...`: what the block raises is `failed`."""
        return Guard(self, kind, where)

    def _due(self, kind: str) -> tuple[bool, int] | None:
        """None if `kind` was logged less than `QUIET` s ago; else whether it never was,
        and how many times it was not logged since it last was."""
        now = time.monotonic()
        with self._lock:
            said = self._said.get(kind)
            if said is not None and now - said[0] < QUIET:
                self._said[kind] = (said[0], said[1] + 1)
                return None
            self._said[kind] = (now, 0)
        return (True, 0) if said is None else (False, said[1])


def _since(missed: int) -> str:
    if not missed:
        return ""
    return f" ({missed} more times since the last such line; at most one every {QUIET:g} s)"


class Guard:
    """See `Complaints.guard`."""

    __slots__ = ("_complaints", "_kind", "_where")

    def __init__(self, complaints: Complaints, kind: str, where: str) -> None:
        self._complaints, self._kind, self._where = complaints, kind, where

    def __enter__(self) -> None:
        pass

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if isinstance(error, Exception):
            self._complaints.failed(self._kind, error, self._where)
            return True
        return False


class Guarded:
    """The engine's telemetry: `inner`'s, with every call's failure logged and ignored."""

    __slots__ = ("_complaints", "inner")

    def __init__(self, inner: Telemetry) -> None:
        self.inner = inner
        self._complaints = Complaints()

    def committed(
        self,
        appends: Sequence[Append],
        results: Sequence[Sequence[Event] | BaseException],
        seconds: float,
    ) -> None:
        try:
            self.inner.committed(appends, results, seconds)
        except Exception as exc:
            self._complaints.failed("reporting a commit", exc)

    def evicted(self, workflow_type: str) -> None:
        try:
            self.inner.evicted(workflow_type)
        except Exception as exc:
            self._complaints.failed("counting an eviction (aion.runs.evictions)", exc)

    def rehydrated(self, workflow_type: str) -> None:
        try:
            self.inner.rehydrated(workflow_type)
        except Exception as exc:
            self._complaints.failed("counting a rehydration (aion.runs.rehydrations)", exc)

    def watch_runs(self, counts: Callable[[], RunCounts]) -> None:
        try:
            self.inner.watch_runs(counts)
        except Exception as exc:
            self._complaints.failed("watching the runs (aion.runs.resident, aion.runs.open)", exc)

    def close(self) -> None:
        try:
            self.inner.close()
        except Exception as exc:
            self._complaints.failed("closing (the spans of runs still open end here)", exc)


def guarded(telemetry: Telemetry) -> Telemetry:
    """`telemetry`, made safe for the engine to call (`NoTelemetry` is already)."""
    if isinstance(telemetry, NoTelemetry | Guarded):
        return telemetry
    return Guarded(telemetry)
