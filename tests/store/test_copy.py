"""`copy_store` / `aion-actors copy`: a data directory an engine was SIGKILLed on, with runs
in every state, moved to PostgreSQL, where an engine finishes every open run — and back.

The LMDB engine (`copy_child`) is killed with runs completed, failed, waiting on a
durable timer, on a signal, on a child, with an activity in flight, and a schedule. The
copy must hold every run exactly as recorded (events, summaries, timers, partitions);
an engine on the copy fires the timer, receives the signals, runs the in-flight activity
once and no completed one again (the ledger says so), keeps the schedule firing, and
`list_runs` by a search attribute finds the same runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from aion_actors import Engine
from aion_actors.core import events as ev
from aion_actors.store import EventStore, LmdbStore, RunQuery, copy_store
from aion_actors.store._projection import MAX_TIME
from aion_actors.store.postgres import PostgresStore, partition_of
from tests.store import copy_flows as f

pytestmark = pytest.mark.timeout(180)
_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The data directory `copy_child` left when it was SIGKILLed (see its docstring);
    the ledger and the (shut) gate are named in this process's environment too."""
    monkeypatch.setenv(f.LEDGER, str(tmp_path / "ledger"))
    monkeypatch.setenv(f.GATE, str(tmp_path / "gate"))
    data = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.copy_child", str(data)],
        cwd=_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its worker processes die with it
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "READY"
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    yield data


def _completed(store: EventStore) -> set[tuple[str, str]]:
    """(workflow_id, activity_id) of every activity the store records as completed."""
    return {
        (run.workflow_id, event.activity_id)
        for run in store.runs()
        for event in store.read(run.workflow_id, run.run_id)
        if isinstance(event, ev.ActivityCompleted)
    }


def _customers(store: EventStore, customer: str) -> set[str]:
    query = RunQuery.of(attributes={"customer": customer})
    return {run.workflow_id for run in store.search(query)}


def _ledger(path: str) -> Counter[tuple[str, str, str]]:
    lines = Path(path).read_text().split("\n")
    return Counter(tuple(line.split(" ")) for line in lines if line)  # type: ignore[misc]


def _same_histories(a: EventStore, b: EventStore) -> None:
    for run in a.runs():
        assert b.read(run.workflow_id, run.run_id) == a.read(run.workflow_id, run.run_id)


def _ticks(engine: Engine) -> set[str]:
    return {run.workflow_id for run in engine.list_runs(parent="schedule:ticks")}


def _eventually(check: Callable[[], object], timeout: float = 30.0) -> bool:
    """Whether `check()` turns true within `timeout` seconds (a test's wait)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _partitions_are_computed(url: str) -> int:
    """Every event, run and timer row carries `partition_of(workflow_id)`; the rows seen."""
    seen = 0
    with psycopg.connect(url) as conn:
        for table in ("events", "runs", "timers"):
            rows = conn.execute(f"SELECT DISTINCT workflow_id, partition FROM aion.{table}")
            for workflow_id, partition in rows.fetchall():
                assert partition == partition_of(workflow_id, 64), (table, workflow_id)
                seen += 1
    return seen


def test_a_killed_data_directory_moves_to_postgres_and_every_open_run_finishes_there(
    killed: Path, pg_url: str, tmp_path: Path
) -> None:
    with LmdbStore(killed, readonly=True) as before:
        runs = before.runs()
        timers = set(before.due_timers(MAX_TIME))
        completed = _completed(before)
        by_customer = {c: _customers(before, c) for c in ("c-1", "c-2", "c-timer", "c-family")}
        open_ids = {run.workflow_id for run in runs if not run.status.is_terminal}
    assert {"timer-1", "signal-1", "signal-2", "parent-1", "child-1", "inflight-1"} <= open_ids
    assert by_customer["c-1"] == {"done-1", "signal-1"}

    made = copy_store(killed, pg_url)
    assert (made.runs, made.open_runs, made.resumed) == (len(runs), len(open_ids), 0)
    assert made.timers == len(timers) >= 1 and made.timers_apart == 0
    with PostgresStore(pg_url, readonly=True) as copy, LmdbStore(killed, readonly=True) as source:
        assert copy.runs() == runs
        assert set(copy.due_timers(MAX_TIME)) == timers
        _same_histories(source, copy)
        assert {c: _customers(copy, c) for c in by_customer} == by_customer
    assert _partitions_are_computed(pg_url) >= len(runs)

    Path(os.environ[f.GATE]).touch()  # `stall` finishes where it runs next
    with Engine.open(pg_url, workers=1) as engine:
        engine.register(*f.ALL)
        assert engine.result("timer-1", timeout=60) == 5
        assert any(isinstance(e, ev.TimerFired) for e in engine.history("timer-1"))
        engine.signal("signal-1", "go", "yes")
        assert engine.result("signal-1", timeout=30) == "yes"
        engine.signal("child-1", "go", "hi")
        assert engine.result("parent-1", timeout=30) == "child said hi"
        assert engine.result("inflight-1", timeout=30) == 60
        fired = _ticks(engine)
        assert _eventually(lambda: _ticks(engine) - fired), "the schedule stopped firing"
        assert {
            c: {run.workflow_id for run in engine.list_runs(attributes={"customer": c})}
            for c in by_customer
        } == by_customer
    ledger = _ledger(os.environ[f.LEDGER])
    for workflow_id, activity_id in completed:  # recorded as completed: never ran again
        assert ledger[(workflow_id, activity_id, "done")] == 1, (workflow_id, activity_id)
    stalled = [key for key in ledger if key[0] == "inflight-1" and key[2] == "started"]
    assert len(stalled) == 1 and ledger[stalled[0]] == 2  # killed once, then run to the end
    assert ledger[(*stalled[0][:2], "done")] == 1

    back = tmp_path / "back"  # and the way back: the PostgreSQL store into a data directory
    made = copy_store(pg_url, back)
    with PostgresStore(pg_url, readonly=True) as source, LmdbStore(back, readonly=True) as copy:
        assert copy.runs() == source.runs()
        assert set(copy.due_timers(MAX_TIME)) == set(source.due_timers(MAX_TIME))
        _same_histories(source, copy)
        assert copy.examine().findings == []
        still_open = {run.workflow_id for run in copy.runs() if not run.status.is_terminal}
    assert "signal-2" in still_open and made.open_runs == len(still_open)
    with Engine.open(back, workers=1) as engine:
        engine.register(*f.ALL)
        engine.signal("signal-2", "go", "back home")
        assert engine.result("signal-2", timeout=30) == "back home"
        assert engine.result("done-1", timeout=5) == 2
