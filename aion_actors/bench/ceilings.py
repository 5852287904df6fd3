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
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import lmdb
import msgpack
import pykka

from aion_actors.bench.harness import Figure

__all__ = [
    "fsync_rate",
    "lmdb_commit_rate",
    "pipe_roundtrip_rate",
    "pykka_ask_rate",
    "pykka_start_ms",
]

_EVENT = {"seq": 1, "kind": "ActivityCompleted", "recorded_at": 0, "result": {"ok": "x" * 96}}
_MAP_SIZE = 256 * 1024 * 1024


def lmdb_commit_rate(seconds: float = 1.0) -> Figure:
    """Durable (fsync'd) LMDB write transactions per second, one small event each."""
    with tempfile.TemporaryDirectory(prefix="aion-ceiling-") as tmp:
        env = lmdb.open(tmp, map_size=_MAP_SIZE, sync=True, metasync=True)
        try:
            commits = 0
            deadline = time.perf_counter() + seconds
            started = time.perf_counter()
            while time.perf_counter() < deadline:
                with env.begin(write=True) as txn:
                    txn.put(commits.to_bytes(8, "big"), msgpack.packb(_EVENT))
                commits += 1
            elapsed = time.perf_counter() - started
        finally:
            env.close()
    return Figure("lmdb_commit_rate", commits / elapsed, "commits/s", is_ceiling=True)


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
