"""PostgreSQL for the benchmarks: a server (the one `url` names, or a throwaway one started
for the run), a fresh database per measurement, and raw ceilings measured on that server.

Ceilings (each on a fresh table of the same server, fsync on):

- ``pg_commit_rate``: single-row ``INSERT`` + ``COMMIT`` loop, one client — all that a
  design committing once per append could reach;
- ``pg_copy_rate``: rows/s of a loop of one ``COPY`` of 1,000 rows per commit — what one
  writer batching well reaches;
- ``pg_read_unpackb_rate``: ``SELECT`` of one run's rows in key order + ``msgpack.unpackb``.
"""

from __future__ import annotations

import contextlib
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgpack

from aion_actors.bench.harness import Figure
from aion_actors.store.postgres._connect import psycopg_modules

_EVENT = {"seq": 1, "kind": "ActivityCompleted", "recorded_at": 0, "result": {"ok": "x" * 96}}
_TABLE = """CREATE TABLE raw_events (workflow_id text COLLATE "C", run_id text COLLATE "C",
    seq bigint, data bytea, PRIMARY KEY (workflow_id, run_id, seq))"""


class Databases:
    """Fresh databases on one server: `new()` returns the URL of an empty one."""

    def __init__(self, admin_url: str) -> None:
        self._admin = admin_url
        self._names = itertools.count(1)
        self.tag = f"b{time.time_ns() % 10**9}"

    def new(self) -> str:
        psycopg, _ = psycopg_modules()
        name = f"aion_bench_{self.tag}_{next(self._names)}"
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = self._admin.rpartition("/")
        return f"{base}/{name}"


@contextlib.contextmanager
def server(url: str) -> Iterator[Databases]:
    """The server `url` names (a database whose user may create databases), or, when
    `url` is empty, a throwaway one started now and removed afterwards."""
    if url:
        yield Databases(url)
        return
    from aion_actors.testing.postgres import ThrowawayServer

    with ThrowawayServer.start() as started:
        yield Databases(started.url)


def _raw(url: str) -> Any:
    psycopg, _ = psycopg_modules()
    conn = psycopg.connect(url)
    conn.execute(_TABLE)
    conn.commit()
    return conn


def _loop(seconds: float, step: Callable[[int], int]) -> float:
    """Units per second of calling `step(i)` (which returns its units) for `seconds`."""
    done, began, i = 0, time.perf_counter(), 0
    while (elapsed := time.perf_counter() - began) < seconds:
        done += step(i)
        i += 1
    return done / elapsed


def commit_rate(url: str, seconds: float) -> Figure:
    data = msgpack.packb(_EVENT)
    with _raw(url) as conn:

        def step(i: int) -> int:
            conn.execute("INSERT INTO raw_events VALUES ('w', 'r', %s, %s)", (i, data))
            conn.commit()
            return 1

        rate = _loop(seconds, step)
    return Figure("pg_commit_rate", rate, "commits/s", is_ceiling=True)


def copy_rate(url: str, seconds: float, rows: int = 1000) -> Figure:
    data = msgpack.packb(_EVENT)
    with _raw(url) as conn:

        def step(i: int) -> int:
            with (
                conn.cursor() as cursor,
                cursor.copy("COPY raw_events FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(["text", "text", "int8", "bytea"])
                for n in range(rows):
                    copy.write_row(("w", "r", i * rows + n, data))
            conn.commit()
            return rows

        rate = _loop(seconds, step)
    return Figure("pg_copy_rate", rate, "events/s", is_ceiling=True)


def read_unpackb_rate(url: str, encoded: list[bytes], reads: int) -> Figure:
    """Median events/s of reading `encoded` back by key order and decoding each."""
    with _raw(url) as conn:
        with conn.cursor() as cursor, cursor.copy("COPY raw_events FROM STDIN") as copy:
            for seq, data in enumerate(encoded, 1):
                copy.write_row(("w", "r", seq, data))
        conn.commit()
        rates = []
        for _ in range(reads):
            began = time.perf_counter()
            with conn.cursor(binary=True) as cursor:
                cursor.execute(
                    "SELECT seq, data FROM raw_events WHERE workflow_id = 'w' AND run_id = 'r' "
                    "ORDER BY seq"
                )
                decoded = [msgpack.unpackb(data) for _, data in cursor.fetchall()]
            conn.rollback()
            assert len(decoded) == len(encoded)
            rates.append(len(decoded) / (time.perf_counter() - began))
    return Figure(
        "pg_read_unpackb_rate",
        statistics.median(rates),
        "events/s",
        is_ceiling=True,
    )
