"""The engine process of the `scale` scenario: many sleeping runs, then signal round trips.

`python -m aion_actors.bench.scenarios._scale_engine DATA RUNS MAX_RESIDENT SAMPLES`
starts RUNS runs (each with a search attribute `customer`, one of 1000) that
wait (on a signal, then a timer, each up to an hour), waits until eviction has
brought the resident runs down to MAX_RESIDENT, times SAMPLES signal round
trips to evicted runs, and prints one JSON line
of figures; then it sleeps until the scenario SIGKILLs it.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from aion_actors import Engine, SignalTimeout, WorkflowContext, workflow


@workflow
async def sleeper(ctx: WorkflowContext, customer: str | None = None) -> None:
    if customer is not None:  # a search attribute, for the filtered listings
        ctx.set_attributes({"customer": customer})
    with contextlib.suppress(SignalTimeout):
        await ctx.wait_signal("poke", timeout=3600)
    await ctx.sleep(3600)


#: how many customers the runs are spread over (the attribute filter's selectivity)
CUSTOMERS = 1000


def start(engine: Engine, i: int) -> None:
    engine.start(sleeper, f"c-{i % CUSTOMERS}", workflow_id=f"s{i}")


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    data, runs, max_resident, samples = sys.argv[1], *map(int, sys.argv[2:5])
    with Engine.open(data, workers=1, max_resident=max_resident, idle_evict_after=None) as engine:
        engine.register(sleeper)
        began = time.perf_counter()
        with ThreadPoolExecutor(16) as starters:  # starts wait for commits: overlap them
            list(starters.map(lambda i: start(engine, i), range(runs)))
        start_rate = runs / (time.perf_counter() - began)
        runs_of = engine._runs  # noqa: SLF001 - the benchmark waits on the evictor's own signal
        runs_of.wait_resident_within_limit(timeout=120)
        rss = rss_mib()
        trips = []
        for i in range(0, runs, max(1, runs // samples))[:samples]:
            workflow_id = f"s{i}"
            sent = time.perf_counter()
            engine.signal(workflow_id, "poke")  # returns once the rehydrated run recorded it
            trips.append((time.perf_counter() - sent) * 1000)
        quantiles = statistics.quantiles(trips, n=100)
        figures = {
            "start_rate": start_rate,
            "rss_mib": rss,
            "resident": engine.stats()["resident"],
            "signal_p50_ms": quantiles[49],
            "signal_p99_ms": quantiles[98],
        }
        print(json.dumps(figures), flush=True)
        time.sleep(3600)


if __name__ == "__main__":
    main()
