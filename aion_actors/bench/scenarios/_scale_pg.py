"""``scale --set backend=postgres``: the filtered listings of `scale` on a `PostgresStore`.

No engine: ``runs`` runs like the LMDB scenario's (type ``sleeper``, running,
search attribute ``customer`` one of 1,000 values, each a `WorkflowStarted` and
an `AttributesSet`) are written in bulk, 1,000 runs per group commit, into a
fresh database of the server ``url`` names (else a throwaway one). Then the
first page (limit 100) of each listing of `scale` is timed through
`EventStore.search`, as `list_runs` calls it. The ceiling ``pg_runs_scan_s``
is one ``SELECT`` of every run's summary.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from aion_actors.bench import pg
from aion_actors.bench.harness import Figure, Params, Report
from aion_actors.core import events as ev
from aion_actors.store import RunQuery
from aion_actors.store.postgres import PostgresStore
from aion_actors.store.postgres._connect import psycopg_modules
from aion_actors.store.protocol import AppendRequest

#: runs per group commit while filling the store
_BATCH = 1000
_CUSTOMERS = 1000
_T0 = 1_700_000_000 * 10**9


def _requests(first: int, count: int) -> list[AppendRequest]:
    requests = []
    for i in range(first, first + count):
        run_id = f"run{i}"
        at = _T0 + i * 1000  # distinct, increasing start times (unix ns)
        events = (
            ev.WorkflowStarted(
                workflow_type="sleeper", input=None, run_id=run_id, version="v1", recorded_at=at
            ),
            ev.AttributesSet(attributes={"customer": f"c-{i % _CUSTOMERS}"}, recorded_at=at),
        )
        requests.append(AppendRequest(f"s{i}", run_id, events, 0))
    return requests


def fill(store: PostgresStore, runs: int) -> float:
    """Write `runs` runs in bulk; returns runs/s."""
    began = time.perf_counter()
    for first in range(0, runs, _BATCH):
        for result in store.append_batch(_requests(first, min(_BATCH, runs - first))):
            if not isinstance(result, list):
                raise result
    return runs / (time.perf_counter() - began)


def search_p50_ms(store: PostgresStore, filters: dict[str, Any], samples: int = 21) -> float:
    """The median time of the first page (limit 100) of `filters`."""
    query = RunQuery.of(**filters, limit=100)
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        page = store.search(query)
        times.append((time.perf_counter() - began) * 1000)
    if not page:
        raise AssertionError(f"search({filters}) found no run")
    return statistics.median(times)


def analyze(url: str) -> None:
    """Refresh the planner's statistics, as autovacuum does soon after a bulk load."""
    psycopg, _ = psycopg_modules()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def run_postgres(params: Params, listings: dict[str, dict[str, Any]]) -> Report:
    runs = int(params["runs"])
    labels: dict[str, str | int | float] = {"runs": runs, "backend": "postgres"}
    with pg.server(str(params["url"])) as databases:
        url = databases.new()
        with PostgresStore(url) as store:
            fill_rate = fill(store, runs)
            analyze(url)
            began = time.perf_counter()
            listed = len(store.runs())
            scan_s = time.perf_counter() - began
            timed = {name: search_p50_ms(store, filters) for name, filters in listings.items()}
    if listed != runs:
        raise AssertionError(f"{runs} runs written, {listed} listed")
    return Report(
        figures=[
            Figure("pg_runs_scan_s", scan_s, "s", better="lower", is_ceiling=True),
            Figure("bulk_runs_per_s", fill_rate, "runs/s", labels=labels),
            *(
                Figure(f"{name}_p50_ms", ms, "ms", better="lower", labels=labels, target=50.0)
                for name, ms in timed.items()
            ),
        ]
    )
