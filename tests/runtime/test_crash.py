"""kill -9 the whole engine (its process group: workers too) at random moments, reopen, finish.

On LMDB and on Postgres. After every kill the store is read as it was left: every run must
finish with the result an uncrashed run gives, and no activity whose
completion had been recorded may run again.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from aion_actors.core import events as ev
from tests.crashes import kill_engine
from tests.forker import Forker
from tests.pg import open_readonly
from tests.runtime import flows

ROOT = Path(__file__).resolve().parents[2]
CHILD = "tests.runtime.engine_child"
ON_POSTGRES = True
BATCH = 4  # new runs each engine incarnation starts, so every kill lands on work in flight
KILLS = 10


def _engine(
    data: Path, ledger: Path, runs: int, *, stderr: int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", CHILD, str(data), str(ledger), str(runs)],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )


def _completed(data: Path) -> set[tuple[str, str]]:
    with open_readonly(data) as store:
        done = set()
        for run in store.runs():
            for event in store.read(run.workflow_id, run.run_id):
                if isinstance(event, ev.ActivityCompleted):
                    done.add((run.workflow_id, event.activity_id))
        return done


def _executions(ledger: Path) -> Counter[tuple[str, str]]:
    if not ledger.exists():
        return Counter()
    lines = [line.split() for line in ledger.read_text().splitlines() if line]
    return Counter((workflow_id, activity_id) for workflow_id, activity_id, _attempt in lines)


@pytest.mark.timeout(300)
def test_sigkill_at_random_points_loses_nothing_and_repeats_nothing(
    tmp_path: Path, data_dir: Path
) -> None:
    data, ledger = data_dir, tmp_path / "ledger"
    rng = random.Random(int(os.environ.get("AION_CRASH_SEED", time.time_ns() % 10_000)))
    snapshots: list[tuple[set[tuple[str, str]], Counter[tuple[str, str]]]] = []
    kills = runs = 0
    window = 0.4  # seconds after READY the kill may land in; shrunk when the work beat it
    with Forker(CHILD) as forker:  # the killed incarnations start without importing anew
        for _ in range(3 * KILLS):
            runs += BATCH
            child = forker.start(CHILD, data, ledger, runs)
            assert child.stdout.readline().strip() == b"READY"
            time.sleep(rng.uniform(0.0, window))
            kill_engine(child)
            landed = child.returncode == -signal.SIGKILL
            kills += landed
            if not landed:  # this machine finished the runs before the kill: aim earlier
                window /= 2
            snapshots.append((_completed(data), _executions(ledger)))
            if kills >= KILLS:
                break
    assert kills >= KILLS, f"only {kills} kills landed mid-run"
    child = _engine(data, ledger, runs, stderr=subprocess.PIPE)
    out, err = child.communicate(timeout=240)
    assert child.returncode == 0 and b"DONE" in out, err.decode(errors="replace")[-3000:]

    with open_readonly(data) as store:
        for i in range(runs):
            run = store.latest_run(f"run-{i}")
            assert run is not None
            history = store.read(run.workflow_id, run.run_id)
            assert [e.seq for e in history] == list(range(1, len(history) + 1))
            closing = history[-1]
            assert isinstance(closing, ev.WorkflowCompleted)
            assert closing.result == flows.five_steps_expected(i)
            scheduled = [e for e in history if isinstance(e, ev.ActivityScheduled)]
            assert len({e.activity_id for e in scheduled}) == 5

    final = _executions(ledger)
    for completed, executions in snapshots:
        for key in completed:
            assert final[key] == executions[key], f"{key} ran again after its completion"
    assert set(final) == {(f"run-{i}", str(n)) for i in range(runs) for n in range(1, 6)}
