"""Nodes in separate processes: a killed node's runs finish on the survivor, a frozen node's
late writes are refused, and no completed activity runs twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from aion_actors import Engine
from aion_actors.core import events as ev
from aion_actors.store.postgres import partition_of
from tests.crashes import kill_engine
from tests.nodes import flows
from tests.nodes.conftest import until as _until
from tests.nodes.node_child import LEASE

ROOT = Path(__file__).resolve().parents[2]
N = 12


def _spawn(url: str, node_id: str, ledger: Path, log: Path, n: int, seconds: float, nap: float):  # type: ignore[no-untyped-def]
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.nodes.node_child",
            url,
            node_id,
            str(ledger),
            str(n),
            str(seconds),
            str(nap),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "STARTED"
    return child


def _lines(ledger: Path) -> list[str]:
    return ledger.read_text().splitlines() if ledger.exists() else []


def _all_completed(engine: Engine) -> bool:
    """Read from the store: `result()` waits only for runs of this node's partitions (the
    run may be back on the other node by now)."""
    return all(engine.describe(f"r{i}").status.value == "completed" for i in range(N))


def _check_histories(engine: Engine, ledger: Path) -> Counter[str]:
    """Every run completed, its events contiguous, each activity completed once, and no
    execution started after one that completed and was recorded. Returns which process
    recorded each completion; the recorded executions' tokens in `.tokens`."""
    lines = _lines(ledger)
    recorded_by: Counter[str] = Counter()
    for i in range(N):
        wid = f"r{i}"
        events = engine.history(wid)
        assert [e.seq for e in events] == list(range(1, len(events) + 1)), wid
        assert isinstance(events[-1], ev.WorkflowCompleted), (wid, events[-1])
        assert len([e for e in events if isinstance(e, ev.ActivityCompleted)]) == 2, wid
        for value in events[-1].result:
            name, pid, token = value.split("@")
            recorded_by[pid] += 1
            done = lines.index(f"done {name} {pid}@{token}")
            again = [ln for ln in lines[done + 1 :] if ln.startswith(f"start {name} ")]
            assert again == [], f"{name} ran again after its recorded completion: {again}"
    return recorded_by


def _retaken(log: str) -> set[int]:
    """The partitions node a's log says it took after its first share."""
    took = [
        ln.split("took partitions ")[1].split(" (")[0]
        for ln in log.splitlines()
        if "node a took partitions" in ln
    ]
    found: set[int] = set()
    for span in took[1:]:
        if span.startswith("["):
            found |= {int(p) for p in span.strip("[]").split(",") if p.strip()}
        else:
            low, high = span.split("-")
            found |= set(range(int(low), int(high) + 1))
    return found


@pytest.mark.timeout(120)
def test_a_killed_nodes_runs_complete_on_the_survivor_with_no_completed_activity_run_again(
    pg_url: str, tmp_path: Path
) -> None:
    ledger, log = tmp_path / "ledger", tmp_path / "a.log"
    a = _spawn(pg_url, "a", ledger, log, N, 1.0, 0.3)
    try:
        with Engine.open(pg_url, workers=1, node_id="b", **LEASE) as b:  # type: ignore[arg-type]
            b.register(*flows.ALL)
            _until(lambda: b.stats()["partitions"] == 32)  # a gave half its partitions up
            _until(lambda: sum(ln.startswith("start") for ln in _lines(ledger)) >= N)
            kill_engine(a)
            _until(lambda: b.stats()["partitions"] == 64)  # a's leases expired: b took them
            _until(lambda: _all_completed(b), timeout=60)
            _check_histories(b, ledger)
    finally:
        if a.poll() is None:
            kill_engine(a)


@pytest.mark.timeout(120)
def test_a_frozen_node_gets_ownership_lost_and_writes_nothing_after_the_takeover(
    pg_url: str, tmp_path: Path
) -> None:
    ledger, log = tmp_path / "ledger", tmp_path / "a.log"
    a = _spawn(pg_url, "a", ledger, log, N, 3.0, 0.2)
    try:
        _until(lambda: sum(ln.startswith("start") for ln in _lines(ledger)) >= N)
        os.killpg(a.pid, signal.SIGSTOP)  # every first activity in flight on a
        frozen = {ln.split()[2] for ln in _lines(ledger) if ln.startswith("start ")}
        with Engine.open(pg_url, workers=1, node_id="b", **LEASE) as b:  # type: ignore[arg-type]
            b.register(*flows.ALL)
            _until(lambda: b.stats()["partitions"] == 64)  # a's leases expired while frozen
            os.killpg(a.pid, signal.SIGCONT)  # its activities finish now: too late
            _until(lambda: _all_completed(b), timeout=60)  # on b, or on a once it rejoined
            _check_histories(b, ledger)
            text = log.read_text()
            assert "lost partition" in text or "leases were taken" in text, text[-3000:]
            # what a ran before it froze finished after the takeover: none of it is recorded
            # for a run a did not take back later (one it took back legitimately records the
            # outcome of that same attempt, under its new epoch)
            back = _retaken(text)
            stayed = [i for i in range(N) if partition_of(f"r{i}", 64) not in back]
            assert stayed, "b kept no partition a had: nothing checked"
            for i in stayed:
                done = {v.split("@", 1)[1] for v in b.history(f"r{i}")[-1].result}
                assert not frozen & done, (f"r{i}", frozen & done, text[-3000:])
    finally:
        os.killpg(a.pid, signal.SIGCONT)
        kill_engine(a)
