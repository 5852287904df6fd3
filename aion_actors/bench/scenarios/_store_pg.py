"""``store --set backend=postgres``: the store scenario's figures on a `PostgresStore`,
with their ceilings measured on the same server in the same run (see `bench.pg`)."""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from aion_actors.bench import pg
from aion_actors.bench.harness import Figure, Params, Report
from aion_actors.bench.scenarios._appending import durable_events_per_s, event, rate_of
from aion_actors.core import encode_event, stamp
from aion_actors.store import EventStore
from aion_actors.store.postgres import PostgresStore

#: the issue's target: durable events/s through the recorder at the largest writer count
TARGET_EVENTS_PER_S = 20_000.0
TARGET_REPLAY_PER_S = 100_000.0


def _opener(databases: pg.Databases) -> Callable[[], AbstractContextManager[EventStore]]:
    @contextlib.contextmanager
    def open_store() -> Iterator[EventStore]:
        with PostgresStore(databases.new()) as store:
            yield store

    return open_store


def run_postgres(params: Params) -> Report:
    writers = [int(w) for w in params["writers"]]
    batch, seconds = int(params["batch"]), float(params["seconds"])
    ceiling_seconds = float(params["ceiling_seconds"])
    replay_events, reads = int(params["replay_events"]), int(params["replay_reads"])
    figures: list[Figure] = []
    series = []
    with pg.server(str(params["url"])) as databases:
        single = pg.commit_rate(databases.new(), ceiling_seconds)
        copied = pg.copy_rate(databases.new(), ceiling_seconds)
        figures += [single, copied]
        for count in writers:
            rate = durable_events_per_s(_opener(databases), count, batch, seconds)
            top = count == max(writers)
            labels: dict[str, str | int | float] = {
                "writers": count,
                "backend": "postgres",
                "batch": batch,
            }
            figures.append(
                Figure(
                    "durable_events_per_s",
                    rate,
                    "events/s",
                    labels=labels,
                    ceiling=copied.name,
                    target=TARGET_EVENTS_PER_S if top else None,
                )
            )
            series.append({"inflight": count, "value": rate, "label": "postgres"})
            if top:
                figures.append(
                    Figure(
                        "group_commit_gain",
                        rate / single.value,
                        "ratio",
                        labels={"writers": count, "backend": "postgres"},
                    )
                )
        figures += _replay(databases, replay_events, reads)
    return Report(figures, series={"throughput_vs_inflight": series})


def _replay(databases: pg.Databases, events: int, reads: int) -> list[Figure]:
    with PostgresStore(databases.new()) as store:
        head = 0
        while head < events:
            chunk = [event(i) for i in range(head, min(head + 1000, events))]
            head = store.append("bench", "run", chunk, head)
        ours = [rate_of(lambda: len(store.read("bench", "run")), events) for _ in range(reads)]
    encoded = [encode_event(stamp(event(i), i + 1, 1)) for i in range(events)]
    ceiling = pg.read_unpackb_rate(databases.new(), encoded, reads)
    return [
        ceiling,
        Figure(
            "replay_events_per_s",
            statistics.median(ours),
            "events/s",
            labels={"events": events, "backend": "postgres"},
            ceiling=ceiling.name,
            target=TARGET_REPLAY_PER_S,
        ),
    ]
