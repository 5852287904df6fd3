"""``throughput``: complete three-activity workflows as fast as the engine can, durably.

``runs`` workflows of three trivial activities each, ``inflight`` at a time,
on a fresh LMDB data directory with ``durability="sync"``, with thread
activities and with process activities, each driven two ways: by
``inflight`` client threads that each `start` a run and wait for it
(``client=threads``, a service with many request threads), and by one
client thread that starts replacements with `start_many` as runs finish
(``client=batched``, a bulk job), and by one asyncio task per run in
flight on one event loop, through `AsyncEngine` (``client=async``, an
asyncio service such as a FastAPI app; target: at least the ``threads``
figure of the same run). Figures: ``workflows_per_s`` and the
start-to-completion latency ``latency_p50_ms`` / ``latency_p99_ms``.

The CPU the process spent per completed workflow (``cpu_us_per_workflow``,
`time.process_time` over the measurement: every thread of the engine and of
the clients; with process activities, the workers' CPU is not included) is
related to ``floor_cpu_us_per_workflow``, the unavoidable work of the same
workflows with no engine (the ``floor`` scenario), measured in the same
repetition. Target: at most 4 x the floor with thread activities.

Three ceilings, all measured in every repetition:

- ``lmdb_commit_rate`` bounds ``workflows_per_s``: LMDB's one-commit-per-append
  rate; without group commit, the ~8 appends of one workflow would cap the
  engine at an eighth of it.
- ``commit_chain_ms`` bounds ``latency_p50_ms``: five durable commits in a
  row, the fewest a three-activity workflow needs when each activity's
  outcome is committed with the command it leads to (the start; the first
  schedule; each completion with the next schedule, twice; the last
  completion with the workflow's completion).

- ``floor_cpu_us_per_workflow`` bounds ``cpu_us_per_workflow`` (see ``floor``).

With ``inflight`` 1 on LMDB, a fourth, for reference: ``floor_latency_ms``, the
start-to-result time of one ``floor`` run alone (its five commits through the
`Recorder`, each writing the run and search indexes as the engine's do, with no
engine), and ``latency_p50_vs_floor_ms``, the same p50 as a ratio to it: what the
engine adds to its own store's commits, where ``commit_chain_ms`` also counts
what the store's indexes add to a bare LMDB commit.

Targets: ``workflows_per_s`` >= 1,500 (thread) / 800 (process) at any
``inflight``; ``latency_p50_ms`` <= 1.5 x ``commit_chain_ms`` (a ratio
target) only when ``inflight`` is 1, where latency is what one run costs.
With more in flight a run's latency is mostly waiting behind the others, so
there the ratio is reported for reference and judged against nothing.

``--set store=postgres`` runs the engine on a `PostgresStore` (the server
``url`` names, else a throwaway one; a fresh database per measurement);
the ceilings are then ``pg_commit_rate`` (single-row INSERT + COMMIT on the
same server) and ``pg_commit_chain_ms`` (five such commits in a row), and the
target is 600 workflows/s with thread activities.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from aion_actors import Engine, WorkflowContext, activity, workflow
from aion_actors.bench import pg
from aion_actors.bench.ceilings import commit_chain_ms, lmdb_commit_rate
from aion_actors.bench.harness import Figure, HarnessError, Params, Report, scenario
from aion_actors.bench.scenarios._async_client import measure_async
from aion_actors.bench.scenarios.floor import floor_figures

_T = TypeVar("_T")

#: ``latency_p50_ms`` / ``commit_chain_ms`` at one run in flight (the issue's target)
LATENCY_TARGET_RATIO = 1.5
#: ``cpu_us_per_workflow`` / ``floor_cpu_us_per_workflow`` with thread activities (issue 24)
CPU_TARGET_RATIO = 4.0


class Measured(NamedTuple):
    """What one client measured: workflows/s, each run's latency (ms) and CPU µs per run."""

    rate: float
    latencies: list[float]
    cpu_us: float


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
    defaults={
        "runs": 5000,
        "inflight": 256,
        "workers": 2,
        "executors": ["thread", "process"],
        "clients": ["threads", "batched", "async"],
        "store": "lmdb",
        "url": "",
    },
    quick={"runs": 300, "inflight": 64},
)
def run(params: Params) -> Report:
    if params["store"] not in ("lmdb", "postgres"):
        raise HarnessError(f"store={params['store']!r}: expected lmdb or postgres")
    if params["store"] == "lmdb":
        with tempfile.TemporaryDirectory() as tmp:
            counter = iter(range(1 << 30))
            floor = floor_figures(int(params["runs"]), int(params["inflight"]))
            ceilings = [lmdb_commit_rate(0.5), commit_chain_ms(), *floor]
            return _run(params, ceilings, lambda: Path(tmp) / f"data-{next(counter)}")
    with pg.server(str(params["url"])) as databases:
        rate = pg.commit_rate(databases.new(), 0.5)
        chain = Figure(
            "pg_commit_chain_ms", 5000 / rate.value, "ms", better="lower", is_ceiling=True
        )
        # the floor commits to LMDB: its CPU bounds the engine's either way; its lone
        # latency is no bound for a run committing to PostgreSQL
        cpu = floor_figures(int(params["runs"]), int(params["inflight"]))[0]
        return _run(params, [rate, chain, cpu], databases.new)


def _run(params: Params, ceilings: list[Figure], new_store: Callable[[], Path | str]) -> Report:
    runs, inflight, workers = int(params["runs"]), int(params["inflight"]), int(params["workers"])
    figures = list(ceilings)
    latency: list[dict[str, Any]] = []
    floor_latency = next((f for f in ceilings if f.name == "floor_latency_ms"), None)
    postgres = params["store"] == "postgres"
    targets = (
        {"thread": 600.0, "process": None} if postgres else {"thread": 1500.0, "process": 800.0}
    )
    # Alone in flight a run's latency is its own cost; with company, mostly queueing.
    latency_ratio = LATENCY_TARGET_RATIO if inflight == 1 else None
    flows = {"thread": three_thread, "process": three_process}
    drivers = {"threads": measure, "batched": measure_batched, "async": measure_with_asyncio}
    for kind in params["executors"]:
        for client in params["clients"]:
            rate, samples, cpu_us = drivers[client](
                new_store(), flows[kind], runs, inflight, workers
            )
            quantiles = statistics.quantiles(samples, n=100)
            labels: dict[str, str | int | float] = {
                "executor": kind,
                "client": client,
                "inflight": inflight,
            }
            if postgres:
                labels["store"] = "postgres"
            figures += [
                Figure(
                    "workflows_per_s",
                    rate,
                    "workflows/s",
                    labels=labels,
                    ceiling=ceilings[0].name,
                    target=targets[kind],
                ),
                Figure(
                    "latency_p50_ms",
                    quantiles[49],
                    "ms",
                    better="lower",
                    labels=labels,
                    ceiling=ceilings[1].name,
                    target_ratio=latency_ratio,
                ),
                Figure("latency_p99_ms", quantiles[98], "ms", better="lower", labels=labels),
                *_against_floor(quantiles[49], labels, floor_latency),
                Figure(
                    "cpu_us_per_workflow",
                    cpu_us,
                    "µs",
                    better="lower",
                    labels=labels,
                    ceiling=ceilings[2].name,
                    target_ratio=CPU_TARGET_RATIO if kind == "thread" else None,
                ),
            ]
            latency += [{"label": f"{kind}, {client}", "value": value} for value in samples]
    return Report(figures=figures, series={"latency_ms": latency})


def _against_floor(
    p50: float, labels: dict[str, str | int | float], floor_latency: Figure | None
) -> list[Figure]:
    """With one run in flight on LMDB, the same p50 again against ``floor_latency_ms``:
    how much the engine adds to a run's own store work (judged against nothing)."""
    if floor_latency is None:
        return []
    return [
        Figure(
            "latency_p50_vs_floor_ms",
            p50,
            "ms",
            better="lower",
            labels=labels,
            ceiling=floor_latency.name,
        )
    ]


def measure_batched(
    data: Path | str, flow: Any, runs: int, inflight: int, workers: int
) -> Measured:
    """Like `measure`, with one client thread: whenever runs finish, it starts as
    many again with one `start_many`, whose starts share one commit."""
    finished: queue.SimpleQueue[float] = queue.SimpleQueue()
    latencies: list[float] = []
    with _warm_engine(data, flow, workers) as engine:
        began, cpu = time.perf_counter(), time.process_time()
        started, wanted = 0, min(inflight, runs)
        while len(latencies) < runs:
            stamp = time.perf_counter()
            for handle in engine.start_many(flow, [(v,) for v in range(started, started + wanted)]):
                handle.add_done_callback(functools.partial(_finish, finished, stamp))
            started += wanted
            done = [_next(finished)]
            with contextlib.suppress(queue.Empty):
                while True:
                    done.append(finished.get_nowait())
            latencies += done
            wanted = min(len(done), runs - started)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    return Measured(runs / elapsed, latencies, cpu * 1e6 / runs)


def _finish(finished: queue.SimpleQueue[float], began: float) -> None:
    finished.put((time.perf_counter() - began) * 1000)


@contextlib.contextmanager
def _warm_engine(data: Path | str, flow: Any, workers: int) -> Iterator[Engine]:
    """An engine with `flow` registered and its executor warmed up by one run."""
    with Engine.open(data, workers=workers) as engine:
        engine.register(flow, bump_thread, bump_process)
        engine.start(flow, 0).result(timeout=60)
        yield engine


def _next(finished: queue.SimpleQueue[_T]) -> _T:
    """What a finished workflow put in `finished`; a `TimeoutError` after 600 s of nothing."""
    try:
        return finished.get(timeout=600)
    except queue.Empty:
        raise TimeoutError("no workflow finished within 600 s") from None


def measure(data: Path | str, flow: Any, runs: int, inflight: int, workers: int) -> Measured:
    """Keep `inflight` runs going until `runs` have completed; workflows/s and latencies (ms).

    `start` returns only once its run is committed, so, like a service with
    many request threads, `inflight` client threads start runs concurrently
    and their commits share fsyncs.
    """
    latencies: list[float] = []
    lock = threading.Lock()
    todo = iter(range(runs))

    def client(engine: Engine) -> None:
        done: queue.SimpleQueue[None] = queue.SimpleQueue()  # waits without Python-level locks
        while True:
            with lock:
                value = next(todo, None)
            if value is None:
                return
            started = time.perf_counter()
            engine.start(flow, value).add_done_callback(functools.partial(done.put, None))
            _next(done)
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    with _warm_engine(data, flow, workers) as engine:
        clients = [threading.Thread(target=client, args=(engine,)) for _ in range(inflight)]
        began, cpu = time.perf_counter(), time.process_time()
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    if len(latencies) != runs:
        raise RuntimeError(f"only {len(latencies)} of {runs} workflows finished")
    return Measured(runs / elapsed, latencies, cpu * 1e6 / runs)


def measure_with_asyncio(
    data: Path | str, flow: Any, runs: int, inflight: int, workers: int
) -> Measured:
    """Like `measure`, with `inflight` asyncio tasks on one loop instead of threads."""
    with _warm_engine(data, flow, workers) as engine:
        cpu = time.process_time()
        rate, latencies = measure_async(engine, flow, runs, inflight)
        return Measured(rate, latencies, (time.process_time() - cpu) * 1e6 / runs)
