"""``soak``: a steady mixed load for ``duration`` seconds; a leak shows as a positive slope.

``inflight`` client threads keep that many workflows going on one engine:
each run does a thread activity and a process activity, sleeps on a durable
timer, waits for a signal the client sends right after starting it, and
every ``crash_every``-th run crashes once (an injected bug) and is restarted
by replay. Idle runs are evicted after ``idle_evict_after`` seconds, so
eviction and rehydration run all the time too.

Every second the engine process's RSS, OS thread count, open file
descriptors and the data directory's size are sampled. RSS is split into
its anonymous part (the heap: ``heap_*`` figures, the leak indicator) and
its file-backed part: LMDB maps the data file, so pages of the event log
that were read count towards RSS and grow with it. Figures: the slope of
each per minute (least squares after a warm-up of a fifth of the run),
workflows completed per second, and runs that failed or got stuck (not
ended after `STUCK_AFTER` s: a lost message; target 0 — the load goes on
without them, so the slopes are still measured). The heap, threads and
fds should be flat; total RSS and the data directory grow with the
histories the engine keeps, unless ``retention`` (seconds, 0: keep forever)
lets the pruner delete closed runs: then the slopes are measured from the
first retention period on (plus 10 s), and the data directory levels off.

Series ``soak``: the samples, for a plot. Long runs: ``aion-actors bench
soak --repeat 1 --set duration=600``.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aion_actors import Engine, RunHandle, WorkflowContext, WorkflowFailed, activity, workflow
from aion_actors.bench.ceilings import lmdb_commit_rate
from aion_actors.bench.harness import Figure, Params, Report, scenario
from aion_actors.config import Config

#: runs that have crashed once in this process (the injected bug strikes once per run).
_CRASHED: set[str] = set()
_MIB = 1024 * 1024
#: a run of this load that has not ended after this long never will: it is counted as stuck.
STUCK_AFTER = 60.0


@activity(executor="thread")
def soak_thread_step(value: int) -> int:
    return value + 1


@activity(executor="process")
def soak_process_step(value: int) -> int:
    return value * 2


@workflow
async def soak_flow(ctx: WorkflowContext, value: int, crash: bool, nap: float) -> int:
    value = await ctx.activity(soak_thread_step, value)
    if crash and ctx.workflow_id not in _CRASHED:
        _CRASHED.add(ctx.workflow_id)
        raise RuntimeError("injected crash (soak); the run is restarted by replay")
    await ctx.sleep(nap)
    poke = await ctx.wait_signal("poke")
    result = int(await ctx.activity(soak_process_step, value + int(poke)))
    _CRASHED.discard(ctx.workflow_id)  # or the load itself would leak
    return result


@scenario(
    "soak",
    repeat=1,
    help="steady mixed load (starts, signals, timers, crashes, evictions) for `duration` s; "
    "slope per minute of RSS, threads, fds and data size (a leak is a positive slope)",
    defaults={
        "duration": 60.0,
        "inflight": 32,
        "workers": 2,
        "crash_every": 10,
        "idle_evict_after": 0.05,
        "retention": 0.0,
    },
    quick={"duration": 5.0, "inflight": 8},
)
def run(params: Params) -> Report:
    duration = float(params["duration"])
    figures = [lmdb_commit_rate(0.5)]
    with tempfile.TemporaryDirectory(prefix="aion-soak-") as tmp:
        data = Path(tmp) / "data"
        samples, outcomes = _soak(data, params, duration)
    retention = float(params["retention"])
    # with a retention, the data directory levels off once the first runs are pruned
    settled = max(duration / 5, retention + 10) if retention else duration / 5
    warm = [s for s in samples if s["t"] >= settled]
    for key, name, unit in (
        ("rss_anon_mib", "heap_slope", "MiB/min"),
        ("rss_mib", "rss_slope", "MiB/min"),
        ("threads", "threads_slope", "threads/min"),
        ("fds", "fds_slope", "fds/min"),
        ("data_mib", "data_dir_slope", "MiB/min"),
    ):
        figures.append(Figure(name, _slope(warm, key), unit, better="lower"))
    last = samples[-1]
    figures += [
        Figure(
            "workflows_per_s",
            outcomes["completed"] / duration,
            "workflows/s",
            ceiling="lmdb_commit_rate",
        ),
        Figure("runs_failed", outcomes["failed"], "runs", better="lower", target=0),
        Figure("runs_stuck", outcomes["stuck"], "runs", better="lower", target=0),
        Figure("heap_end", last["rss_anon_mib"], "MiB", better="lower"),
        Figure("rss_end", last["rss_mib"], "MiB", better="lower"),
        Figure("threads_end", last["threads"], "threads", better="lower"),
        Figure("fds_end", last["fds"], "fds", better="lower"),
    ]
    return Report(figures=figures, series={"soak": samples})


def _soak(data: Path, params: Params, duration: float) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Run the load for `duration` s, sampling once a second; the samples and run outcomes."""
    stop = threading.Event()
    lock = threading.Lock()
    counts: Counter[str] = Counter()
    numbers = itertools.count()
    crash_every = int(params["crash_every"])
    errors: list[BaseException] = []

    def client(engine: Engine) -> None:
        try:
            while not stop.is_set():
                n = next(numbers)
                finished = threading.Event()
                workflow_id = f"soak-{n}"
                crash = crash_every > 0 and n % crash_every == 0
                handle = engine.start(soak_flow, n, crash, 0.01 * (n % 10), workflow_id=workflow_id)
                engine.signal(workflow_id, "poke", 1)
                handle.add_done_callback(finished.set)
                outcome = _outcome(handle, finished, stop)
                with lock:
                    counts[outcome] += 1
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    samples: list[dict[str, Any]] = []
    retention = float(params["retention"])  # seconds closed runs are kept; 0: forever
    config = Config(default_retention=retention or None)
    with Engine.open(
        data,
        workers=int(params["workers"]),
        idle_evict_after=float(params["idle_evict_after"]),
        config=config,
    ) as engine:
        engine.register(soak_flow, soak_thread_step, soak_process_step)
        engine.start(soak_flow, 0, False, 0.0, workflow_id="warm-up")
        engine.signal("warm-up", "poke", 0)
        engine.result("warm-up", timeout=60)
        clients = [
            threading.Thread(target=client, args=(engine,), name=f"soak-client-{i}")
            for i in range(int(params["inflight"]))
        ]
        began = time.monotonic()
        for thread in clients:
            thread.start()
        for tick in itertools.count(1):
            if stop.wait(max(0.0, began + tick - time.monotonic())):
                break
            samples.append(_sample(data, time.monotonic() - began, counts["completed"]))
            if tick >= duration:
                break
        stop.set()
        for thread in clients:
            thread.join()
    if errors:
        raise RuntimeError(f"the soak load failed: {errors[0]!r}") from errors[0]
    if len(samples) < 3:
        raise RuntimeError(f"only {len(samples)} samples; run the soak for at least 3 s")
    return samples, counts


def _outcome(handle: RunHandle, finished: threading.Event, stop: threading.Event) -> str:
    """`completed`, `failed`, `stuck` (not ended within `STUCK_AFTER` s: a lost message),
    or `abandoned` (still running when the soak ended)."""
    deadline = time.monotonic() + STUCK_AFTER
    while not finished.wait(0.2):
        if stop.is_set():
            return "abandoned"
        if time.monotonic() > deadline:
            return "stuck"
    try:
        handle.result(timeout=10)
    except WorkflowFailed:
        return "failed"
    return "completed"


def _sample(data: Path, t: float, completed: int) -> dict[str, Any]:
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    kib = {key: int(status[key].split()[0]) for key in ("VmRSS", "RssAnon", "RssFile")}
    return {
        "t": round(t, 3),
        "rss_mib": kib["VmRSS"] / 1024,
        "rss_anon_mib": kib["RssAnon"] / 1024,
        "rss_file_mib": kib["RssFile"] / 1024,
        "threads": int(status["Threads"]),
        "fds": len(os.listdir("/proc/self/fd")),
        "data_mib": sum(p.stat().st_size for p in data.iterdir()) / _MIB,
        "completed": completed,
    }


def _slope(samples: list[dict[str, Any]], key: str) -> float:
    """Least-squares slope of `key` against time, per minute (0 with fewer than 2 samples)."""
    if len(samples) < 2:
        return 0.0
    ts = [s["t"] / 60 for s in samples]
    ys = [float(s[key]) for s in samples]
    mean_t, mean_y = sum(ts) / len(ts), sum(ys) / len(ys)
    spread = sum((t - mean_t) ** 2 for t in ts)
    if spread == 0:
        return 0.0
    return float(sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys, strict=True)) / spread)
