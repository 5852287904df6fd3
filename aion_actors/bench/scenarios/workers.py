"""``workers``: what the activity executors add on top of a bare pipe round trip.

A trivial activity runs through ``WorkerPool`` (and, for comparison,
``ThreadExecutor``): ``tasks_per_s`` keeps ``inflight`` attempts outstanding
from a submitting thread; ``roundtrip_p50_ms`` / ``roundtrip_p99_ms`` time
one attempt at a time, from ``submit`` to its ``done`` callback. The ceiling
is a bare msgpack round trip over a ``multiprocessing`` Pipe to one
forkserver child, measured in the same run.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from aion_actors.bench.ceilings import pipe_roundtrip_rate
from aion_actors.bench.harness import Figure, Params, Report, scenario
from aion_actors.workers import AttemptInfo, Executor, Outcome, Task, ThreadExecutor, WorkerPool

_ATTEMPT = AttemptInfo("bench", "run", "activity", 1)


def noop(value: Any) -> Any:
    """The trivial activity: what is left is the executor's own cost."""
    return value


@scenario(
    "workers",
    help="activity executors: tasks/s and submit-to-done round trip of a trivial activity",
    defaults={"workers": 2, "tasks": 50_000, "inflight": 256, "roundtrips": 5000},
    quick={"tasks": 5000, "roundtrips": 500},
)
def run(params: Params) -> Report:
    workers, tasks = int(params["workers"]), int(params["tasks"])
    inflight, roundtrips = int(params["inflight"]), int(params["roundtrips"])
    figures = [pipe_roundtrip_rate(roundtrips)]
    latency: list[dict[str, Any]] = []
    executors: dict[str, Callable[[], Executor]] = {
        "process": lambda: WorkerPool(workers, {"noop": f"{__name__}:noop"}),
        "thread": lambda: ThreadExecutor(workers, {"noop": noop}),
    }
    for kind, make in executors.items():
        labels: dict[str, str | int | float] = {"executor": kind, "workers": workers}
        executor = make()
        try:
            samples = roundtrip_ms(executor, roundtrips)
            rate = tasks_per_s(executor, tasks, inflight)
        finally:
            executor.close()
        quantiles = statistics.quantiles(samples, n=100)
        figures += [
            Figure(
                "tasks_per_s",
                rate,
                "tasks/s",
                labels={**labels, "inflight": inflight},
                ceiling="pipe_roundtrip_rate" if kind == "process" else None,
            ),
            Figure("roundtrip_p50_ms", quantiles[49], "ms", better="lower", labels=labels),
            Figure("roundtrip_p99_ms", quantiles[98], "ms", better="lower", labels=labels),
        ]
        latency += [{"label": kind, "value": value} for value in samples]
    return Report(figures=figures, series={"latency_ms": latency})


def roundtrip_ms(executor: Executor, count: int) -> list[float]:
    """Milliseconds from `submit` to `done` of `count` attempts run one at a time."""
    finished = threading.Event()
    stamp: list[float] = []

    def done(outcome: Outcome) -> None:
        stamp.append(time.perf_counter())
        finished.set()

    samples = []
    for i in range(count + min(count, 200)):  # the first ones warm the workers up
        finished.clear()
        stamp.clear()
        started = time.perf_counter()
        executor.submit(Task("noop", (i,), _ATTEMPT), done)
        if not finished.wait(60):
            raise RuntimeError(f"attempt {i} got no outcome within 60 s")
        samples.append((stamp[0] - started) * 1000)
    return samples[-count:]


def tasks_per_s(executor: Executor, count: int, inflight: int) -> float:
    """Attempts completed per second with `inflight` kept outstanding by one submitter."""
    window = threading.BoundedSemaphore(inflight)
    all_done = threading.Event()
    failures: list[Outcome] = []
    remaining = [count]
    lock = threading.Lock()

    def done(outcome: Outcome) -> None:
        if not outcome.ok:
            failures.append(outcome)
        window.release()
        with lock:
            remaining[0] -= 1
            if remaining[0] == 0:
                all_done.set()

    started = time.perf_counter()
    for i in range(count):
        window.acquire()
        executor.submit(Task("noop", (i,), _ATTEMPT), done)
    if not all_done.wait(300):
        raise RuntimeError(f"{remaining[0]} of {count} attempts got no outcome within 300 s")
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} attempts failed, first: {failures[0].error}")
    return count / elapsed
