"""``scale``: many open runs, few threads: eviction keeps a sleeping multitude cheap.

A child engine process starts ``runs`` runs that each wait up to an hour
(on a signal, then a timer) with ``max_resident`` actors at most, reports
its start rate, its RSS once all are open, and the round trip of a signal
to an *evicted* run (``engine.signal`` until the woken run's next command is
recorded). Then it is SIGKILLed, and the scenario times ``Engine.open`` plus
registration: the recovery scan that lists every open run and re-arms the
timers. The ceiling is a bare read of every run summary in the store. Then
it times filtered listings (`list_runs(..., limit=100)`, the first page) by
type, by status and by search attribute (each value held by runs/1000 runs).

``--set backend=postgres`` times the same listings on a `PostgresStore` filled
in bulk, without an engine (see `_scale_pg`), on the server ``url`` names or a
throwaway one.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aion_actors import Engine
from aion_actors.bench.harness import Figure, HarnessError, Params, Report, scenario
from aion_actors.bench.scenarios._gates import wait_engine_gone
from aion_actors.bench.scenarios._scale_engine import sleeper
from aion_actors.store import LmdbStore

_ROOT = Path(__file__).resolve().parents[3]  # the directory that holds aion_actors/


@scenario(
    "scale",
    help="N open runs sleeping with max_resident actors: start rate, RSS, recovery, signal trip",
    defaults={
        "runs": 100_000,
        "max_resident": 1000,
        "samples": 200,
        "backend": "lmdb",
        "url": "",
    },
    quick={"runs": 2000, "max_resident": 100, "samples": 50},
)
def run(params: Params) -> Report:
    if params["backend"] == "postgres":
        from aion_actors.bench.scenarios._scale_pg import run_postgres

        return run_postgres(params, _LISTINGS)
    if params["backend"] != "lmdb":
        raise HarnessError(f"backend={params['backend']!r}: expected lmdb or postgres")
    runs, max_resident = int(params["runs"]), int(params["max_resident"])
    labels: dict[str, str | int | float] = {"runs": runs, "max_resident": max_resident}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aion_actors.bench.scenarios._scale_engine",
                str(data),
                str(runs),
                str(max_resident),
                str(params["samples"]),
            ],
            cwd=_ROOT,
            start_new_session=True,
            stdout=subprocess.PIPE,
        )
        assert child.stdout is not None
        line = child.stdout.readline()
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        if not line:
            raise RuntimeError("the scale engine process died before reporting")
        seen = json.loads(line)
        began = time.perf_counter()
        with LmdbStore(data, readonly=True) as store:
            listed = len(store.runs())
        scan_s = time.perf_counter() - began
        wait_engine_gone(data)  # the lock is free once every process of the group has gone
        began = time.perf_counter()
        with Engine.open(data, workers=1, max_resident=max_resident) as engine:
            engine.register(sleeper)
            recovered_s = time.perf_counter() - began
            open_runs = len(engine.list_runs())
            listings = {
                name: listing_p50_ms(engine, filters) for name, filters in _LISTINGS.items()
            }
    if listed != runs or open_runs != runs:
        raise AssertionError(f"{runs} runs started, {listed} listed, {open_runs} after recovery")
    return Report(
        figures=[
            Figure("runs_scan_s", scan_s, "s", better="lower", is_ceiling=True),
            Figure("start_rate", seen["start_rate"], "runs/s", labels=labels),
            Figure(
                "rss_all_open_mib",
                seen["rss_mib"],
                "MiB",
                better="lower",
                labels=labels,
                target=500.0,
            ),
            Figure(
                "recovery_open_s",
                recovered_s,
                "s",
                better="lower",
                labels=labels,
                ceiling="runs_scan_s",
                target=20.0,
            ),
            Figure(
                "evicted_signal_p50_ms",
                seen["signal_p50_ms"],
                "ms",
                better="lower",
                labels=labels,
                target=10.0,
            ),
            Figure(
                "evicted_signal_p99_ms", seen["signal_p99_ms"], "ms", better="lower", labels=labels
            ),
            *(
                Figure(f"{name}_p50_ms", ms, "ms", better="lower", labels=labels, target=50.0)
                for name, ms in listings.items()
            ),
        ]
    )


#: the filtered listings timed (first page, limit 100): name -> `list_runs` filters
_LISTINGS: dict[str, dict[str, Any]] = {
    "list_by_type": {"workflow_type": "sleeper"},
    "list_by_status": {"status": "running"},
    "list_by_attribute": {"attributes": {"customer": "c-7"}},
    "list_by_attribute_and_type": {"workflow_type": "sleeper", "attributes": {"customer": "c-9"}},
}


def listing_p50_ms(engine: Engine, filters: dict[str, Any], samples: int = 21) -> float:
    """The median time of `list_runs(**filters, limit=100)`: the first page, each time."""
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        page = engine.list_runs(**filters, limit=100)
        times.append((time.perf_counter() - began) * 1000)
    if not page:
        raise AssertionError(f"list_runs({filters}) found no run")
    return statistics.median(times)
