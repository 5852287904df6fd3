"""``recovery``: SIGKILL an engine with many runs in flight; reopen; time until all complete.

A child engine process starts ``runs`` three-activity workflows (each
activity appends a ledger line, once a gate file exists) and is killed —
its whole process group — as soon as the last start returns, with every run
in flight. The scenario then reopens the data directory and times
``Engine.open`` (recovery scan, timers re-armed, pending runs rehydrated)
and the time until every run has ended (told by ``when_closed``; the
results are read after the clock stops). It checks, and fails if not, that
every run ends with the right result, that no activity whose completion was
recorded before the kill ran again, and that every activity ran exactly once
(the gate holds them all until after the kill, so each interrupted attempt
must be re-sent once and only once). The ceiling is the time to read every
event of the store back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from aion_actors import Engine
from aion_actors.bench.harness import Figure, Params, Report, scenario
from aion_actors.bench.scenarios._gates import hold, release, wait_engine_gone
from aion_actors.bench.scenarios._recovery_engine import close_ledgers, three_works, work
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore

_ROOT = Path(__file__).resolve().parents[3]  # the directory that holds aion_actors/


@scenario(
    "recovery",
    help="kill -9 with N runs in flight, reopen, seconds until all complete",
    defaults={"runs": 10_000},
    quick={"runs": 200},
)
def run(params: Params) -> Report:
    runs = int(params["runs"])
    with tempfile.TemporaryDirectory() as tmp:
        data, ledger = Path(tmp) / "data", Path(tmp) / "ledger"
        gate = hold(ledger.with_suffix(".gate"))  # activities wait until the reopening
        _start_and_kill(data, ledger, runs)
        done_before, open_at_kill, read_s = _snapshot(data)
        release(gate)
        began = time.perf_counter()
        with Engine.open(data, workers=1, max_resident=runs + 10) as engine:
            engine.register(three_works, work)
            opened = time.perf_counter() - began
            _wait_all_closed(engine, runs)
            completed = time.perf_counter() - began
            for i in range(runs):  # checked after the clock stopped
                assert engine.result(f"r{i}", timeout=600) == i + 3, f"run r{i} result"
        close_ledgers()
        executions = Counter(tuple(line.split()) for line in ledger.read_text().splitlines())
        repeated = [key for key in done_before if executions[key] > 1]
        if repeated:
            raise AssertionError(f"{len(repeated)} recorded activities ran again: {repeated[:3]}")
        twice = [key for key, count in executions.items() if count > 1]
        if twice or len(executions) != 3 * runs:
            raise AssertionError(
                f"{len(executions)} activities ran for {3 * runs}; twice: {twice[:3]}"
            )
    labels: dict[str, str | int | float] = {"runs": runs, "open_at_kill": open_at_kill}
    return Report(
        figures=[
            Figure("store_read_s", read_s, "s", better="lower", is_ceiling=True),
            Figure(
                "recovery_open_s",
                opened,
                "s",
                better="lower",
                labels=labels,
                ceiling="store_read_s",
            ),
            Figure(
                "recovery_complete_s",
                completed,
                "s",
                better="lower",
                labels=labels,
                ceiling="store_read_s",
                target=15.0,
            ),
        ]
    )


def _wait_all_closed(engine: Engine, runs: int) -> None:
    """Block until runs r0 .. r{runs-1} have all ended, told by `when_closed` as each
    ends: the clock measures the engine, not a loop of `result()` calls in this thread
    (runs recover in run index order, r10 before r2, so most calls would come after
    their run had left memory and read it back from the store)."""
    left, lock, done = [runs], threading.Lock(), threading.Event()

    def ended() -> None:
        with lock:
            left[0] -= 1
            if left[0] == 0:
                done.set()

    for i in range(runs):
        engine.when_closed(f"r{i}", ended)
    if not done.wait(600):
        raise AssertionError(f"{left[0]} of {runs} runs had not ended 600 s after the reopen")


def _start_and_kill(data: Path, ledger: Path, runs: int) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aion_actors.bench.scenarios._recovery_engine",
            str(data),
            str(ledger),
            str(runs),
        ],
        cwd=_ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    wait_engine_gone(data)  # the lock is free once every process of the group has gone
    if line != b"READY":
        raise RuntimeError("the recovery engine process died before starting its runs")


def _snapshot(data: Path) -> tuple[set[tuple[str, str]], int, float]:
    """Activities recorded complete at the kill, runs still open, and the full read time."""
    began = time.perf_counter()
    done: set[tuple[str, str]] = set()
    with LmdbStore(data, readonly=True) as store:
        summaries = store.runs()
        for summary in summaries:
            for event in store.read(summary.workflow_id, summary.run_id):
                if isinstance(event, ev.ActivityCompleted):
                    done.add((summary.workflow_id, event.activity_id))
        open_runs = sum(not s.status.is_terminal for s in summaries)
    return done, open_runs, time.perf_counter() - began
