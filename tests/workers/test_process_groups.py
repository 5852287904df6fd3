"""What an activity starts ends with its worker: each worker leads a process group of its own.

An activity here starts `sleep 60` with `subprocess.Popen`, or forks a child
that sleeps, then returns, crashes its worker, or overruns its timeout. However
the worker ends — the pool closing, a crash and its replacement, a timeout
kill — those grandchildren are gone within a second or two, with real processes.
The last test runs an engine in a subprocess and checks that nothing it started
(worker, grandchildren, forkserver, resource tracker) outlives `Engine.close()`
and the engine's exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aion_actors.workers import Task, WorkerPool
from tests.workers import activities
from tests.workers.helpers import (
    WAIT,
    Collector,
    alive,
    attempt,
    kill_leftovers,
    wait_gone,
)

REPO = Path(__file__).resolve().parents[2]
GONE_WITHIN = 2.0  # seconds, from the moment the worker ends (or the engine exits)

# how the worker ends -> what the activity does after starting its processes, its timeout
ENDINGS = {
    "pool closed after the attempt returned": ("return", None),
    "worker crashed and was replaced": ("exit", None),
    "worker killed for an attempt timeout": ("hang", 1.0),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("how", ["popen", "fork"])
def test_processes_an_activity_started_end_with_its_worker(
    tmp_path: Path, how: str, ending: str
) -> None:
    then, timeout = ENDINGS[ending]
    pid_file = tmp_path / "pids"
    pool = WorkerPool(1, activities.PATHS)
    started: list[int] = []
    try:
        collector = Collector()
        task = Task("leave_behind", (str(pid_file), how, then), attempt(), timeout)
        pool.submit(task, collector.callback("a"))
        outcome = collector.wait_for(1)["a"]
        started = [int(pid) for pid in pid_file.read_text().split()]  # grandchild, worker
        if then == "return":
            assert outcome.result == started
            assert alive(tuple(started)) == started  # a finished attempt's processes live on...
            pool.close()  # ...until its worker stops
        else:
            assert outcome.error is not None
            expected = "AttemptTimeout" if then == "hang" else "WorkerCrashed"
            assert outcome.error["type"] == expected

        wait_gone(started, GONE_WITHIN, f"the activity's processes and worker ({ending})")
    finally:
        pool.close()
        kill_leftovers(started)


ENGINE_SCRIPT = """
import contextlib
import os
import signal
import subprocess
import sys
import time

from aion_actors import Engine, activity, workflow


@activity
def leave_behind() -> list:
    sleeper = subprocess.Popen(["sleep", "60"])
    child = os.fork()
    if child == 0:  # the forked child only sleeps
        time.sleep(60)
        os._exit(0)
    return [sleeper.pid, child, os.getpid(), os.getppid()]


@workflow
async def flow(ctx):
    return await ctx.activity(leave_behind)


def engine_children(me):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == me:
                        found.append(int(entry))
            except OSError:
                pass
    return found


if __name__ == "__main__":
    with Engine.open(sys.argv[1], workers=1) as engine:
        engine.register(flow, leave_behind)
        pids = engine.start(flow).result(timeout=60)
        print(*pids, *[p for p in engine_children(os.getpid()) if p != pids[3]], flush=True)
"""


def test_nothing_an_engine_started_outlives_its_close_and_exit(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(ENGINE_SCRIPT))
    out = tmp_path / "out.txt"
    # Output to files, not pipes: a grandchild holding a pipe would stall the read, not the test.
    with out.open("w") as stdout, (tmp_path / "err.txt").open("w") as stderr:
        engine = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "data")],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    started: list[int] = []
    try:
        assert engine.wait(timeout=WAIT + 30) == 0, (tmp_path / "err.txt").read_text()
        started = [int(pid) for pid in out.read_text().split()]
        # sleeper, forked child, worker, forkserver, then the engine's other children
        assert len(started) >= 4, out.read_text()

        wait_gone(started, GONE_WITHIN, "what the engine started, once it closed and exited")
    finally:
        kill_leftovers(started)
        with contextlib.suppress(ProcessLookupError):  # the engine itself, if it hung
            os.killpg(engine.pid, signal.SIGKILL)


# A fresh interpreter opens the terminal: pytest has threads, and pty.fork() forks.
TERMINAL_DRIVER = """
import os, pty, sys

pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-c", sys.argv[1]])
seen = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:  # EIO: the terminal's other side closed
        break
    if not chunk:
        break
    seen += chunk
os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
"""

ON_THE_TERMINAL = """
import termios
import threading

from aion_actors.workers import AttemptInfo, Task, WorkerPool

attrs = termios.tcgetattr(0)
attrs[3] |= termios.TOSTOP  # stty tostop: a background group writing here is stopped
termios.tcsetattr(0, termios.TCSANOW, attrs)
pool = WorkerPool(1, {"to_terminal": "tests.workers.activities:to_terminal"})
box, done = [], threading.Event()
task = Task("to_terminal", ("hello from a worker",), AttemptInfo("w", "r", "a", 1), 10.0)
pool.submit(task, lambda outcome: (box.append(outcome), done.set()))
done.wait(60)
pool.close()
print("outcome:", box[0].ok, box[0].result or box[0].error)
"""


def test_a_worker_in_its_own_group_still_writes_to_the_terminal_and_never_stops(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", TERMINAL_DRIVER, ON_THE_TERMINAL],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=WAIT + 30,
    )

    assert done.returncode == 0, done.stderr
    assert "hello from a worker" in done.stdout
    # A read from the terminal fails at once rather than stopping the worker (SIGTTIN).
    assert "outcome: True reading the terminal: [Errno 5] Input/output error" in done.stdout
