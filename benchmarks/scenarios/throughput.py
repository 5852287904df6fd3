"""``throughput``: complete three-activity workflows as fast as the engine can, durably.

``runs`` workflows of three trivial activities each, ``inflight`` at a time,
on a fresh LMDB data directory with ``durability="sync"``, once with thread
activities and once with process activities. Figures: ``workflows_per_s``
and the start-to-completion latency ``latency_p50_ms`` / ``latency_p99_ms``.
The ceiling is LMDB's one-commit-per-append rate measured in the same run:
without group commit, the ~8 appends of one workflow would cap the engine at
an eighth of it.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aion_actors import Engine, WorkflowContext, activity, workflow
from benchmarks.ceilings import lmdb_commit_rate
from benchmarks.harness import Figure, Params, Report, scenario


@activity(executor="thread")
def bump_thread(value: int) -> int:
    return value + 1


@activity(executor="process")
def bump_process(value: int) -> int:
    return value + 1


@workflow
async def three_thread(ctx: WorkflowContext, value: int) -> int:
    for _ in range(3):
        value = await ctx.activity(bump_thread, value)
    return value


@workflow
async def three_process(ctx: WorkflowContext, value: int) -> int:
    for _ in range(3):
        value = await ctx.activity(bump_process, value)
    return value


@scenario(
    "throughput",
    help="three-activity workflows/s and start-to-result latency, thread and process executors",
    defaults={"runs": 5000, "inflight": 256, "workers": 2, "executors": ["thread", "process"]},
    quick={"runs": 300, "inflight": 64},
)
def run(params: Params) -> Report:
    runs, inflight, workers = int(params["runs"]), int(params["inflight"]), int(params["workers"])
    figures = [lmdb_commit_rate(0.5)]
    latency: list[dict[str, Any]] = []
    targets = {"thread": 1500.0, "process": 800.0}
    flows = {"thread": three_thread, "process": three_process}
    for kind in params["executors"]:
        with tempfile.TemporaryDirectory() as tmp:
            rate, samples = measure(Path(tmp) / "data", flows[kind], runs, inflight, workers)
        quantiles = statistics.quantiles(samples, n=100)
        labels: dict[str, str | int | float] = {"executor": kind, "inflight": inflight}
        figures += [
            Figure("workflows_per_s", rate, "workflows/s", labels=labels,
                   ceiling="lmdb_commit_rate", target=targets[kind]),
            Figure("latency_p50_ms", quantiles[49], "ms", better="lower", labels=labels),
            Figure("latency_p99_ms", quantiles[98], "ms", better="lower", labels=labels),
        ]
        latency += [{"label": kind, "value": value} for value in samples]
    return Report(figures=figures, series={"latency_ms": latency})


def measure(
    data: Path, flow: Any, runs: int, inflight: int, workers: int
) -> tuple[float, list[float]]:
    """Keep `inflight` runs going until `runs` have completed; workflows/s and latencies (ms).

    `start` returns only once its run is committed, so, like a service with
    many request threads, `inflight` client threads start runs concurrently
    and their commits share fsyncs.
    """
    latencies: list[float] = []
    lock = threading.Lock()
    todo = iter(range(runs))

    def client(engine: Engine) -> None:
        done = threading.Event()
        while True:
            with lock:
                value = next(todo, None)
            if value is None:
                return
            done.clear()
            started = time.perf_counter()
            engine.start(flow, value).add_done_callback(done.set)
            if not done.wait(600):
                raise TimeoutError("a workflow did not finish within 600 s")
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    with Engine.open(data, workers=workers) as engine:
        engine.register(flow, bump_thread, bump_process)
        engine.start(flow, 0).result(timeout=60)  # warm the executor up
        clients = [threading.Thread(target=client, args=(engine,)) for _ in range(inflight)]
        began = time.perf_counter()
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        elapsed = time.perf_counter() - began
    if len(latencies) != runs:
        raise RuntimeError(f"only {len(latencies)} of {runs} workflows finished")
    return runs / elapsed, latencies
