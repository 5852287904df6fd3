"""``copy``: moving runs between stores with `copy_store`, checks included.

A data directory of ``runs`` runs (`_copy_fill`: a three-activity workflow with a
search attribute, one in ten open on a timer; about 9 events a run) is copied into
another data directory, and, with ``backend=postgres`` (the default; on the server
``url`` names, else a throwaway one), into PostgreSQL and from there into a new data
directory: ``copy_lmdb_runs_per_s``, ``copy_to_pg_runs_per_s``,
``copy_from_pg_runs_per_s``. The ceiling ``read_runs_per_s`` reads every history of the
source into events (`store.bulk`, in the copy's batches), which any copy must do first.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from aion_actors.bench.harness import Figure, HarnessError, Params, Report, scenario
from aion_actors.bench.scenarios._copy_fill import fill
from aion_actors.store import LmdbStore, copy_store
from aion_actors.store.bulk import read_histories

#: runs read per `read_histories` call in the ceiling (a copy batch holds about as many)
_READ_BATCH = 450


@scenario(
    "copy",
    help="runs/s moved between stores by copy_store (data directory -> data directory, "
    "-> PostgreSQL and back), against reading every history",
    defaults={"runs": 10_000, "backend": "postgres", "url": ""},
    quick={"runs": 300, "backend": "lmdb"},
)
def run(params: Params) -> Report:
    runs, backend = int(params["runs"]), str(params["backend"])
    if backend not in ("lmdb", "postgres"):
        raise HarnessError(f"backend={backend!r}: expected lmdb or postgres")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source"
        fill(source, runs)
        figures = [_read_ceiling(source, runs), _copied("copy_lmdb", source, Path(tmp) / "lmdb")]
        if backend == "postgres":
            from aion_actors.bench import pg

            with pg.server(str(params["url"])) as databases:
                url = databases.new()
                figures.append(_copied("copy_to_pg", source, url))
                figures.append(_copied("copy_from_pg", url, Path(tmp) / "back"))
    return Report(figures=figures)


def _read_ceiling(source: Path, runs: int) -> Figure:
    began = time.perf_counter()
    with LmdbStore(source, readonly=True) as store:
        keys = [(run.workflow_id, run.run_id) for run in store.runs()]
        for first in range(0, len(keys), _READ_BATCH):
            read_histories(store, keys[first : first + _READ_BATCH])
    rate = runs / (time.perf_counter() - began)
    return Figure("read_runs_per_s", rate, "runs/s", labels={"runs": runs}, is_ceiling=True)


def _copied(name: str, source: Path | str, dest: Path | str) -> Figure:
    made = copy_store(source, dest)
    return Figure(
        f"{name}_runs_per_s",
        made.runs / made.seconds,
        "runs/s",
        labels={"runs": made.runs},
        ceiling="read_runs_per_s",
    )
