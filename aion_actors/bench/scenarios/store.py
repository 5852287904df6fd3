"""``store``: durable appends through the Recorder, and replay reads, next to raw LMDB.

``durable_events_per_s``: ``writers`` threads each append ``batch``-event
batches to their own run through one ``Recorder``, each waiting for its
commit (the durability contract), counted over a steady ``seconds`` window;
for ``sync`` and ``nosync``. Its ceiling is ``lmdb_commit_rate``: durable
LMDB commits per second with one small event each, which is all a design
committing once per append could reach; ``group_commit_gain`` is the ratio
at the largest writer count (the issue's target: 20x, and 100,000 events/s).

``replay_events_per_s``: ``LmdbStore.read`` of one ``replay_events``-event
run into event objects; its ceiling ``lmdb_read_unpackb_rate`` walks the
same key range with a bare cursor and ``msgpack.unpackb``.

``--set backend=postgres`` measures the same on a `PostgresStore` (on the
server ``url`` names, else a throwaway one), against raw ceilings on that
server: ``pg_commit_rate`` (single-row INSERT + COMMIT) and ``pg_copy_rate``
(1,000 rows per commit); see `aion_actors.bench.pg` (target 20,000 events/s).
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import lmdb
import msgpack

from aion_actors.bench.ceilings import lmdb_commit_rate
from aion_actors.bench.harness import Figure, HarnessError, Params, Report, scenario
from aion_actors.bench.scenarios._appending import durable_events_per_s, event, rate_of
from aion_actors.store import EventStore, LmdbStore

_TARGET_EVENTS_PER_S = 100_000.0
_TARGET_GAIN = 20.0
_TARGET_REPLAY_PER_S = 250_000.0


@scenario(
    "store",
    help="durable appends/s through the Recorder (1/16/256 writers, sync and nosync) "
    "and replay reads/s, against raw LMDB commit and read rates",
    defaults={
        "writers": [1, 16, 256],
        "batch": 8,
        "seconds": 2.0,
        "ceiling_seconds": 1.0,
        "replay_events": 10_000,
        "replay_reads": 20,
        "backend": "lmdb",
        "url": "",
    },
    quick={"seconds": 0.25, "ceiling_seconds": 0.2, "replay_events": 2_000, "replay_reads": 5},
)
def run(params: Params) -> Report:
    if params["backend"] == "postgres":
        from aion_actors.bench.scenarios._store_pg import run_postgres

        return run_postgres(params)
    if params["backend"] != "lmdb":
        raise HarnessError(f"backend={params['backend']!r}: expected lmdb or postgres")
    writers = [int(w) for w in params["writers"]]
    batch, seconds = int(params["batch"]), float(params["seconds"])
    ceiling = lmdb_commit_rate(float(params["ceiling_seconds"]))
    figures = [ceiling]
    series = []
    for durability in ("sync", "nosync"):
        for count in writers:
            rate = durable_events_per_s(_lmdb(durability), count, batch, seconds)
            sync = durability == "sync"
            figures.append(
                Figure(
                    "durable_events_per_s",
                    rate,
                    "events/s",
                    labels={"writers": count, "durability": durability, "batch": batch},
                    ceiling=ceiling.name if sync else None,
                    target=_TARGET_EVENTS_PER_S if sync and count == max(writers) else None,
                )
            )
            series.append({"inflight": count, "value": rate, "label": durability})
            if sync and count == max(writers):
                figures.append(
                    Figure(
                        "group_commit_gain",
                        rate / ceiling.value,
                        "ratio",
                        labels={"writers": count, "durability": durability},
                        target=_TARGET_GAIN,
                    )
                )
    figures += replay(int(params["replay_events"]), int(params["replay_reads"]))
    return Report(figures, series={"throughput_vs_inflight": series})


@contextlib.contextmanager
def _lmdb_store(durability: str) -> Iterator[EventStore]:
    with (
        tempfile.TemporaryDirectory(prefix="aion-bench-store-") as tmp,
        LmdbStore(Path(tmp) / "data", durability=durability) as store,  # type: ignore[arg-type]
    ):
        yield store


def _lmdb(durability: str) -> Callable[[], AbstractContextManager[EventStore]]:
    return lambda: _lmdb_store(durability)


def replay(events: int, reads: int) -> list[Figure]:
    """Median events/s of reading one run back, and of a bare cursor + unpackb over it."""
    with tempfile.TemporaryDirectory(prefix="aion-bench-replay-") as tmp:
        path = Path(tmp) / "data"
        with LmdbStore(path, durability="nosync") as store:
            head = 0
            while head < events:
                chunk = [event(i) for i in range(head, min(head + 1000, events))]
                head = store.append("bench", "run", chunk, head)
            ours = [rate_of(lambda: len(store.read("bench", "run")), events) for _ in range(reads)]
        env = lmdb.open(str(path), max_dbs=8, readonly=True)
        try:
            db = env.open_db(b"events", create=False)
            prefix = b"bench\0run\0"

            def bare() -> int:
                with env.begin(db=db) as txn:
                    cursor = txn.cursor()
                    cursor.set_range(prefix)
                    decoded = []
                    for key, value in cursor:
                        if not key.startswith(prefix):
                            break
                        decoded.append(msgpack.unpackb(value))
                return len(decoded)

            raw = [rate_of(bare, events) for _ in range(reads)]
        finally:
            env.close()
    labels = {"events": events}
    return [
        Figure(
            "lmdb_read_unpackb_rate", statistics.median(raw), "events/s",
            labels=labels, is_ceiling=True,
        ),
        Figure(
            "replay_events_per_s", statistics.median(ours), "events/s", labels=labels,
            ceiling="lmdb_read_unpackb_rate", target=_TARGET_REPLAY_PER_S,
        ),
    ]  # fmt: skip
