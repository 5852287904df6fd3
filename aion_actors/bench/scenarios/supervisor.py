"""Supervision costs: restart latency, restart throughput, and what supervision adds to ``ask``.

* restart latency — a thread actor crashes (a ``tell`` that raises) or a process child
  exits (``os._exit(3)``); the clock stops when the replacement answers a round trip.
  The replacement announces itself (thread: its ``on_start`` posts its ref to a queue;
  process: it writes to a pipe), so no polling of the supervisor is measured. Process
  children start from a forkserver that preloads this module, as a host would preload
  its worker code (without it each child re-imports its target's module: about 10 times slower).
* crash storm — children that crash as soon as they start, with an intensity too high
  to exhaust: restarts per second, against a bare Pykka start+stop loop.
* ask overhead — the same echo actor, bare and supervised, asked in alternating rounds.
  Callers hold the child's own ref, so the target ratio is ~1.
"""

from __future__ import annotations

import logging
import os
import queue
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any

import pykka

from aion_actors.bench.ceilings import pykka_ask_rate
from aion_actors.bench.harness import Figure, Params, Report, scenario
from supervisor import ChildInfo, ChildSpec, RestartPolicy, Supervisor

_STORM = RestartPolicy(max_restarts=10**9, within_seconds=1.0)
_PROCESS_TIMEOUT = 30.0


class _Echo(pykka.ThreadingActor):
    """Echoes; crashes on ``"crash"`` told; posts its ref to ``ready`` when started."""

    def __init__(self, ready: queue.SimpleQueue[pykka.ActorRef[Any]] | None = None) -> None:
        super().__init__()
        self._ready = ready

    def on_start(self) -> None:
        if self._ready is not None:
            self._ready.put(self.actor_ref)

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("crash on purpose")
        return message


class _CrashAtOnce(pykka.ThreadingActor):
    def on_start(self) -> None:
        self.actor_ref.tell("crash")

    def on_receive(self, message: Any) -> Any:
        raise RuntimeError("crash on purpose")


def _echo_process(conn: Connection) -> None:
    """Say ``up``; echo until told ``crash``, then die with exit code 3."""
    conn.send_bytes(b"up")
    while (message := conn.recv_bytes()) != b"crash":
        conn.send_bytes(message)
    os._exit(3)


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """Each crash is logged by Pykka at ERROR; keep formatting out of the measurement."""
    loggers = [logging.getLogger(name) for name in ("pykka", "supervisor")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _thread_restart_ms(n: int) -> list[float]:
    ready: queue.SimpleQueue[pykka.ActorRef[Any]] = queue.SimpleQueue()
    sup = Supervisor.start(_STORM, [ChildSpec("echo", actor=_Echo, args=(ready,))])
    try:
        ref = ready.get(timeout=10)
        samples = []
        for i in range(n):
            started = time.perf_counter()
            ref.tell("crash")
            ref = ready.get(timeout=10)
            ref.ask(i)
            samples.append((time.perf_counter() - started) * 1000)
        return samples
    finally:
        sup.stop()


def _expect(conn: Connection, message: bytes) -> None:
    if not conn.poll(_PROCESS_TIMEOUT):
        raise RuntimeError(f"process child sent nothing in {_PROCESS_TIMEOUT} s")
    received = conn.recv_bytes()
    if received != message:
        raise RuntimeError(f"process child sent {received!r}, expected {message!r}")


def _process_restart_ms(n: int) -> list[float]:
    context = get_context("forkserver")
    context.set_forkserver_preload([__name__])
    parent, child = context.Pipe()
    sup = Supervisor.start(_STORM, [ChildSpec("echo", process=_echo_process, args=(child,))])
    try:
        _expect(parent, b"up")
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            parent.send_bytes(b"crash")
            _expect(parent, b"up")
            parent.send_bytes(b"ping")
            _expect(parent, b"ping")
            samples.append((time.perf_counter() - started) * 1000)
        return samples
    finally:
        sup.stop()
        parent.close()
        child.close()


def _storm_restarts_per_s(children: int, seconds: float) -> float:
    count = 0
    lock = threading.Lock()

    def on_restart(_info: ChildInfo, _delay: float) -> None:
        nonlocal count
        with lock:
            count += 1

    specs = [ChildSpec(i, actor=_CrashAtOnce, on_restart=on_restart) for i in range(children)]
    sup = Supervisor.start(_STORM, specs)
    try:
        with lock:
            first = count
        started = time.perf_counter()
        time.sleep(seconds)
        with lock:
            last = count
        elapsed = time.perf_counter() - started
    finally:
        sup.stop()
    return (last - first) / elapsed


def _start_stop_per_s(seconds: float) -> float:
    """The ceiling for restarts: a bare Pykka actor started and stopped in a loop."""
    count = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        _Echo.start().stop()
        count += 1
    return count / (time.perf_counter() - started)


def _ask_rate(ref: pykka.ActorRef[Any], n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        ref.ask(i)
    return n / (time.perf_counter() - started)


def _ask_rates(n: int, rounds: int) -> tuple[float, float]:
    """Median asks/s of a bare and a supervised echo, in alternating rounds."""
    bare = _Echo.start()
    sup = Supervisor.start(RestartPolicy(), [ChildSpec("echo", actor=_Echo)])
    info = sup.lookup("echo")
    assert info is not None and isinstance(info.ref, pykka.ActorRef)
    supervised = info.ref
    try:
        _ask_rate(bare, 200)
        _ask_rate(supervised, 200)
        bare_rates, sup_rates = [], []
        for _ in range(rounds):
            bare_rates.append(_ask_rate(bare, n))
            sup_rates.append(_ask_rate(supervised, n))
        return statistics.median(bare_rates), statistics.median(sup_rates)
    finally:
        bare.stop()
        sup.stop()


@scenario(
    "supervisor",
    help="restart latency (thread actor, process child), crash-storm restarts/s, "
    "supervised vs bare ask",
    defaults={
        "thread_restarts": 1000,
        "process_restarts": 40,
        "storm_children": 8,
        "storm_seconds": 3.0,
        "asks": 5000,
        "ask_rounds": 7,
    },
    quick={
        "thread_restarts": 100,
        "process_restarts": 5,
        "storm_seconds": 0.5,
        "asks": 1000,
        "ask_rounds": 3,
    },
)
def run(params: Params) -> Report:
    with _quiet_logs():
        thread_ms = _thread_restart_ms(params["thread_restarts"])
        process_ms = _process_restart_ms(params["process_restarts"])
        storm = _storm_restarts_per_s(params["storm_children"], params["storm_seconds"])
        ceiling_starts = _start_stop_per_s(min(params["storm_seconds"], 1.0))
        bare_rate, sup_rate = _ask_rates(params["asks"], params["ask_rounds"])
    figures = [
        Figure(
            "restart_latency_p50_ms",
            statistics.median(thread_ms),
            "ms",
            "lower",
            {"child": "thread"},
            target=2.0,
        ),
        Figure(
            "restart_latency_p99_ms",
            _percentile(thread_ms, 0.99),
            "ms",
            "lower",
            {"child": "thread"},
        ),
        Figure(
            "restart_latency_p50_ms",
            statistics.median(process_ms),
            "ms",
            "lower",
            {"child": "process"},
        ),
        Figure(
            "restart_latency_p99_ms",
            _percentile(process_ms, 0.99),
            "ms",
            "lower",
            {"child": "process"},
        ),
        Figure("pykka_start_stop_rate", ceiling_starts, "actors/s", is_ceiling=True),
        Figure(
            "restarts_per_s",
            storm,
            "restarts/s",
            labels={"child": "thread"},
            ceiling="pykka_start_stop_rate",
        ),
        pykka_ask_rate(params["asks"]),
        Figure("supervised_ask_rate", sup_rate, "asks/s", ceiling="pykka_ask_rate"),
        Figure("supervised_vs_bare_ask_ratio", bare_rate / sup_rate, "ratio", "lower", target=1.1),
    ]
    series = {
        "latency_ms": [{"label": "thread", "value": v} for v in thread_ms]
        + [{"label": "process", "value": v} for v in process_ms],
    }
    return Report(figures, series)
