"""The OpenTelemetry instruments, made once per process from the global meter provider.

Names and attributes are listed in the README ("Metrics and traces"). Counters
count what was committed live; the two gauges sum, over the engines open in
this process, what their run tables hold.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Observation

from aion_actors.telemetry.facade import RunCounts

#: the instrumentation scope of every instrument and span
SCOPE = "aion_actors"


@dataclass(frozen=True, slots=True)
class Instruments:
    runs_started: Counter
    runs_closed: Counter
    runs_parked: Counter
    crashes: Counter
    restarts: Counter
    rehydrations: Counter
    evictions: Counter
    activity_attempts: Counter
    activity_failures: Counter
    activity_duration: Histogram
    batch_size: Histogram
    commit_duration: Histogram


@functools.cache
def instruments() -> Instruments:
    meter = metrics.get_meter(SCOPE)

    def count(name: str, what: str) -> Counter:
        unit = "{attempt}" if name.startswith("aion.activity") else "{run}"
        return meter.create_counter(name, unit=unit, description=what)

    made = Instruments(
        runs_started=count("aion.runs.started", "runs started"),
        runs_closed=count("aion.runs.closed", "runs closed, by outcome"),
        runs_parked=count("aion.runs.parked", "runs parked"),
        crashes=count("aion.runs.crashes", "crashes of run incarnations"),
        restarts=count("aion.runs.restarts", "restarts of crashed runs"),
        rehydrations=count("aion.runs.rehydrations", "runs brought back into memory by replay"),
        evictions=count("aion.runs.evictions", "runs evicted from memory"),
        activity_attempts=count("aion.activity.attempts", "attempts of activities scheduled"),
        activity_failures=count("aion.activity.failures", "attempts of activities that failed"),
        activity_duration=meter.create_histogram(
            "aion.activity.duration", unit="s", description="from an attempt's schedule to its end"
        ),
        batch_size=meter.create_histogram(
            "aion.recorder.batch_size", unit="{append}", description="appends per commit"
        ),
        commit_duration=meter.create_histogram(
            "aion.recorder.commit_duration", unit="s", description="one store commit"
        ),
    )
    meter.create_observable_gauge(
        "aion.runs.resident", [_resident], unit="{run}", description="runs in memory"
    )
    meter.create_observable_gauge(
        "aion.runs.open", [_open], unit="{run}", description="runs not closed"
    )
    return made


_lock = threading.Lock()
_sources: list[Callable[[], RunCounts]] = []


def watch(source: Callable[[], RunCounts]) -> None:
    instruments()  # the gauges exist from now on
    with _lock:
        _sources.append(source)


def unwatch(source: Callable[[], RunCounts]) -> None:
    with _lock:
        if source in _sources:
            _sources.remove(source)


def _counts() -> list[RunCounts]:
    with _lock:
        sources = list(_sources)
    return [source() for source in sources]


def _resident(options: CallbackOptions) -> Iterable[Observation]:
    return [Observation(sum(c.resident for c in _counts()))]


def _open(options: CallbackOptions) -> Iterable[Observation]:
    return [Observation(sum(c.open for c in _counts()))]
