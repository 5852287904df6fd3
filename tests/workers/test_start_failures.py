"""Workers that cannot start: one activity's module, or the whole pool, by its restart policy.

The module tests use `spawn`, so each worker imports the activity modules
itself (a forkserver may already hold them preloaded from an earlier test).
The pool-level tests run a script in a subprocess whose workers die while
re-importing it, the one thing that stops every worker of a pool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from aion_actors.workers import Task, WorkerPool
from tests.workers import activities
from tests.workers.helpers import Collector, attempt, run_one

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (
            "tests.workers.broken_in_workers",
            [
                "resolving 'tests.workers.broken_in_workers:task' in a worker process raised "
                "RuntimeError: this module refuses to load in a worker process",
            ],
        ),
        (
            "tests.workers.exits_in_workers",
            [
                "died (exit code 7) while importing 'tests.workers.exits_in_workers' (3 in a row)",
            ],
        ),
    ],
)
def test_an_activity_whose_module_fails_in_workers_fails_alone_naming_the_module(
    module: str, expected: list[str]
) -> None:
    pool = WorkerPool(2, {"task": f"{module}:task", **activities.PATHS}, start_method="spawn")
    try:
        collector = Collector()
        for i in range(3):
            pool.submit(Task("task", (), attempt(str(i))), collector.callback(str(i)))

        outcomes = collector.wait_for(3)

        for outcome in outcomes.values():
            assert outcome.error is not None
            assert outcome.error["type"] == "ActivityUnavailable"
            assert "activity 'task' cannot run in a worker process" in outcome.error["message"]
            for text in expected:
                assert text in outcome.error["message"]
        # The other activities run, and later attempts of this one fail at once.
        assert run_one(pool, "echo", "still runs").result == ["still runs"]
        late = run_one(pool, "task", key="late")
        assert late.error is not None and late.error["type"] == "ActivityUnavailable"
        failures = pool.stats().start_failures
        assert failures <= 4  # its module was given up: workers start without it
        assert run_one(pool, "echo", 2).result == [2]
        assert pool.stats().start_failures == failures and not pool.stats().broken
    finally:
        pool.close()


SCRIPT = """
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path

MODE, MARKER = sys.argv[1], Path(sys.argv[2])

# Deliberately unguarded: every worker runs this while re-importing the script.
if multiprocessing.current_process().name.startswith("aion-worker") and MARKER.exists():
    if MODE == "signal":
        os.kill(os.getpid(), signal.SIGKILL)  # not deterministic: judged by the window
    raise RuntimeError("this script refuses to start a worker")  # exit code 1, every time


def echo(x):
    return x


if __name__ == "__main__":
    from aion_actors.workers import AttemptInfo, Task, WorkerPool
    from supervisor import Backoff, RestartPolicy

    logging.basicConfig(level=logging.INFO, format="LOG %(levelname)s %(message)s")
    policy = RestartPolicy(max_restarts=2, within_seconds=60, backoff=Backoff(initial=0, max=1.0))
    MARKER.touch()
    pool = WorkerPool(1, {"echo": "__main__:echo"}, policy=policy)

    def run(x):
        box, done = [], threading.Event()
        task = Task("echo", (x,), AttemptInfo("w", "r", str(x), 1))
        pool.submit(task, lambda outcome: (box.append(outcome), done.set()))
        done.wait(30)
        return box[0]

    began = time.monotonic()
    first = run(1)
    report = {"first": first.error, "took": time.monotonic() - began}
    report["at_break"] = pool.stats().start_failures
    time.sleep(2.5)  # a pool that spins would fail dozens of starts meanwhile
    report["later"] = pool.stats().start_failures
    report["broken"] = pool.stats().broken
    MARKER.unlink()  # the cause is fixed: a slow retry (if any) repairs the pool
    deadline = time.monotonic() + 5
    while pool.stats().broken and time.monotonic() < deadline:
        time.sleep(0.02)
    second = run(2)
    report["second"] = [second.ok, second.result, second.error]
    pool.close()
    print(json.dumps(report))
"""


def _script(tmp_path: Path, mode: str) -> tuple[dict[str, Any], str]:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, str(script), mode, str(tmp_path / "refuse")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


@pytest.mark.timeout(90)
def test_failed_starts_beyond_the_window_break_the_pool_which_retries_slowly_and_repairs(
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    report, log = _script(tmp_path, "signal")

    error = report["first"]
    assert error["type"] == "WorkerStartFailed"
    assert "died (killed by SIGKILL) re-importing the main script" in error["message"]
    assert "the pool retries one worker every 1 s and fails attempts at once" in error["message"]
    # max_restarts=2: the third failed start breaks the pool; restarts were immediate.
    assert report["at_break"] == 3 and report["took"] < 10
    # Then one retry a second, not a spin.
    assert report["broken"] and 1 <= report["later"] - report["at_break"] <= 4
    assert report["second"][:2] == [True, 2]  # repaired once the cause was gone
    assert log.count("LOG ERROR activity worker processes cannot start") == 1
    assert log.count("LOG WARNING worker process failed to start") == 1
    assert log.count("LOG INFO a worker process started: the pool runs activities again") == 1
    assert time.monotonic() - began < 30


@pytest.mark.timeout(90)
def test_the_same_start_failure_three_times_in_a_row_stops_the_restarts(tmp_path: Path) -> None:
    report, log = _script(tmp_path, "exit")

    error = report["first"]
    assert error["type"] == "WorkerStartFailed"
    assert "died (exit code 1) re-importing the main script" in error["message"]
    assert "the pool stopped starting workers" in error["message"]
    assert report["at_break"] == 3
    assert report["later"] == 3  # no restart at all since
    second_ok, _result, second_error = report["second"]
    assert not second_ok and second_error["type"] == "WorkerStartFailed"
    assert log.count("LOG ERROR activity worker processes cannot start") == 1
    assert log.count("RuntimeError: this script refuses to start a worker") == 3
