"""Raw building-block rates, measured in the same run as the figure they bound.

A figure alone says little on a noisy shared machine; "60 % of what a bare
LMDB commit loop reaches here" says how much the engine costs. Each helper
returns a ``Figure(is_ceiling=True)`` and cleans up whatever it created.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgpack
import pykka

from aion_actors.bench.harness import Figure
from aion_actors.store import _lmdb_env
from aion_actors.store.lmdb_store import DEFAULT_MAP_SIZE

__all__ = [
    "commit_chain_ms",
    "fsync_rate",
    "lmdb_commit_rate",
    "pipe_roundtrip_rate",
    "pykka_ask_rate",
    "pykka_start_ms",
]

_EVENT = {"seq": 1, "kind": "ActivityCompleted", "recorded_at": 0, "result": {"ok": "x" * 96}}


class _DurableLog:
    """A fresh LMDB environment in a temp dir, opened as the engine's store opens one
    with ``durability="sync"`` (same opener, flags, map size and sub-databases)."""

    def __init__(self, tmp: str) -> None:
        self._env, dbs = _lmdb_env.open_env(
            Path(tmp), readonly=False, sync=True, map_size=DEFAULT_MAP_SIZE
        )
        self._events = dbs[b"events"]
        self._payload = msgpack.packb(_EVENT)
        self.commits = 0

    def commit(self) -> None:
        """One durable write transaction holding one small event; returns once fsync'd."""
        with self._env.begin(write=True, db=self._events) as txn:
            txn.put(self.commits.to_bytes(8, "big"), self._payload)
        self.commits += 1

    def close(self) -> None:
        self._env.close()


@contextlib.contextmanager
def _durable_log() -> Iterator[_DurableLog]:
    with tempfile.TemporaryDirectory(prefix="aion-ceiling-") as tmp:
        log = _DurableLog(tmp)
        try:
            yield log
        finally:
            log.close()


def lmdb_commit_rate(seconds: float = 1.0) -> Figure:
    """Durable (fsync'd) LMDB write transactions per second, one small event each."""
    with _durable_log() as log:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            log.commit()
        elapsed = time.perf_counter() - started
        commits = log.commits
    return Figure("lmdb_commit_rate", commits / elapsed, "commits/s", is_ceiling=True)


def commit_chain_ms(chains: int = 200, length: int = 5) -> Figure:
    """Median time (ms) of ``length`` durable LMDB commits in a row, each waiting for the last.

    Five is the fewest commits a three-activity workflow needs when each
    activity's outcome is committed together with the command it leads to:
    the start; the first schedule; each completion with the next schedule,
    twice; the last completion with the workflow's completion. One run alone
    in the engine cannot finish faster than this chain.
    """
    samples = []
    with _durable_log() as log:
        for _ in range(length):  # warm the map and the page cache
            log.commit()
        for _ in range(chains):
            started = time.perf_counter()
            for _ in range(length):
                log.commit()
            samples.append((time.perf_counter() - started) * 1000)
    return Figure(
        "commit_chain_ms", statistics.median(samples), "ms", better="lower", is_ceiling=True
    )


def fsync_rate(seconds: float = 1.0) -> Figure:
    """Small write + ``fsync`` pairs per second on the temp directory's disk."""
    with tempfile.TemporaryDirectory(prefix="aion-ceiling-") as tmp:
        fd = os.open(Path(tmp) / "probe", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            count = 0
            payload = msgpack.packb(_EVENT)
            deadline = time.perf_counter() + seconds
            started = time.perf_counter()
            while time.perf_counter() < deadline:
                os.pwrite(fd, payload, 0)
                os.fsync(fd)
                count += 1
            elapsed = time.perf_counter() - started
        finally:
            os.close(fd)
    return Figure("fsync_rate", count / elapsed, "fsyncs/s", is_ceiling=True)


class _Echo(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return message


def pykka_ask_rate(n: int = 5000) -> Figure:
    """Round trips per second of ``ask`` to a bare Pykka actor that echoes."""
    ref = _Echo.start()
    try:
        for i in range(min(n, 200)):
            ref.ask(i)
        started = time.perf_counter()
        for i in range(n):
            ref.ask(i)
        elapsed = time.perf_counter() - started
    finally:
        ref.stop()
    return Figure("pykka_ask_rate", n / elapsed, "asks/s", is_ceiling=True)


def pykka_start_ms(n: int = 200) -> Figure:
    """Median time to start a bare Pykka actor and get its first ``ask`` answered."""
    samples = []
    for i in range(n):
        started = time.perf_counter()
        ref = _Echo.start()
        ref.ask(i)
        samples.append((time.perf_counter() - started) * 1000)
        ref.stop()
    return Figure(
        "pykka_start_ms", statistics.median(samples), "ms", better="lower", is_ceiling=True
    )


def _echo_bytes(conn: Connection) -> None:
    while payload := conn.recv_bytes():
        conn.send_bytes(msgpack.packb(msgpack.unpackb(payload)))
    conn.close()


def pipe_roundtrip_rate(n: int = 5000) -> Figure:
    """msgpack round trips per second over a ``multiprocessing`` Pipe to a forkserver child."""
    ctx = multiprocessing.get_context("forkserver")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_echo_bytes, args=(child,), daemon=True)
    proc.start()
    child.close()
    try:
        payload = msgpack.packb(_EVENT)
        for _ in range(min(n, 200)):
            parent.send_bytes(payload)
            msgpack.unpackb(parent.recv_bytes())
        started = time.perf_counter()
        for _ in range(n):
            parent.send_bytes(payload)
            msgpack.unpackb(parent.recv_bytes())
        elapsed = time.perf_counter() - started
    finally:
        with contextlib.suppress(OSError):
            parent.send_bytes(b"")
        parent.close()
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join()
        proc.close()
    return Figure("pipe_roundtrip_rate", n / elapsed, "round trips/s", is_ceiling=True)
