"""Workers die with their engine, so two attempts of one activity never run at once.

An engine in a subprocess runs an activity that notes `start <pid>` in a
ledger, then blocks; the test SIGKILLs the engine process only (not its
process group, as a crash, the OOM killer or `kill -9 <pid>` would). Its worker
must be gone within a second or two, and its forkserver and resource tracker
with it. A second engine on the same data directory then runs the attempt
again; the ledger shows the first attempt's process was dead before the
second started. The activity blocks in `time.sleep` (the GIL released) or in
one long C call that holds the GIL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.workers.helpers import WAIT, children, kill_leftovers, parent_of, wait_gone

REPO = Path(__file__).resolve().parents[2]
GONE_WITHIN = 2.0  # seconds after the engine's death

ENGINE_SCRIPT = """
import os
import sys
import time

from aion_actors import Engine, RetryPolicy, activity, workflow

LEDGER = os.environ["LEDGER"]


def running(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def note(line):
    with open(LEDGER, "a") as ledger:
        ledger.write(line + "\\n")
        ledger.flush()
        os.fsync(ledger.fileno())


@activity(retry=RetryPolicy(max_attempts=3, initial=0.1))
def step() -> int:
    lines = open(LEDGER).read().splitlines() if os.path.exists(LEDGER) else []
    earlier = [int(line.split()[1]) for line in lines if line.startswith("start")]
    overlapping = [pid for pid in earlier if running(pid)]
    note(f"start {os.getpid()} overlapping={overlapping}")
    if not earlier:  # the first attempt blocks; its engine is killed meanwhile
        BLOCK
    note(f"end {os.getpid()}")
    return os.getpid()


@workflow
async def flow(ctx):
    return await ctx.activity(step)


if __name__ == "__main__":
    with Engine.open(sys.argv[1], workers=1) as engine:
        engine.register(flow, step)
        if sys.argv[2] == "start":
            engine.start(flow, workflow_id="once")
            time.sleep(120)  # killed before this ends
        else:
            print(engine.result("once", timeout=60), flush=True)
"""

BLOCKS = {
    "sleeping": "time.sleep(30)",
    "holding the GIL in one C call": "sum(range(10**13))",
}


def _engine(tmp_path: Path, script: Path, mode: str, name: str) -> subprocess.Popen[bytes]:
    # Output to files, not pipes: an orphaned worker holding a pipe would stall its reader.
    with (tmp_path / f"{name}.out").open("w") as out, (tmp_path / f"{name}.err").open("w") as err:
        return subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "data"), mode],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO), "LEDGER": str(tmp_path / "ledger")},
            stdout=out,
            stderr=err,
            start_new_session=True,
        )


def _first_start(ledger: Path, engine: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and engine.poll() is None:
        if ledger.exists() and ledger.read_text().endswith("\n"):
            return int(ledger.read_text().split()[1])
        time.sleep(0.01)
    raise AssertionError(f"the first attempt never started (engine exit code {engine.poll()})")


@pytest.mark.parametrize("block", list(BLOCKS))
def test_workers_die_with_their_engine_so_attempts_of_one_activity_never_overlap(
    tmp_path: Path, block: str
) -> None:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(ENGINE_SCRIPT).replace("BLOCK", BLOCKS[block]))
    ledger = tmp_path / "ledger"
    first = _engine(tmp_path, script, "start", "first")
    started: list[int] = []
    second: subprocess.Popen[bytes] | None = None
    try:
        worker = _first_start(ledger, first)
        forkserver = parent_of(worker)
        started = [worker, *children(first.pid)]  # its forkserver and resource tracker
        assert forkserver in started

        os.kill(first.pid, signal.SIGKILL)  # the engine process only, not its group
        first.wait()
        wait_gone(started, GONE_WITHIN, "the dead engine's worker, forkserver, resource tracker")

        second = _engine(tmp_path, script, "finish", "second")
        assert second.wait(timeout=WAIT + 30) == 0, (tmp_path / "second.err").read_text()
        assert (tmp_path / "second.out").read_text().split() != []
        lines = ledger.read_text().splitlines()
        retried = int(lines[1].split()[1])
        assert lines == [
            f"start {worker} overlapping=[]",
            f"start {retried} overlapping=[]",
            f"end {retried}",
        ]
    finally:
        for engine in (first, second):
            if engine is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(engine.pid, signal.SIGKILL)
        kill_leftovers(started)


THREAD_WATCH_ONLY = """
import os
import subprocess
import sys
import time

from aion_actors.workers import _lifeline

_lifeline.watch(int(sys.argv[1]))  # the portable watch alone, not the kernel's
sleeper = subprocess.Popen(["sleep", "60"])
print(os.getpid(), sleeper.pid, flush=True)
time.sleep(60)
"""


def test_the_thread_watch_alone_ends_the_group_when_the_engine_end_closes(
    tmp_path: Path,
) -> None:
    watched, lifeline = os.pipe()
    out = tmp_path / "out.txt"
    with out.open("w") as stdout:
        holder = subprocess.Popen(
            [sys.executable, "-c", THREAD_WATCH_ONLY, str(watched)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=stdout,
            pass_fds=(watched,),
            start_new_session=True,  # it leads its own group, as a worker does
        )
    os.close(watched)
    started: list[int] = []
    try:
        deadline = time.monotonic() + WAIT
        while not out.read_text().endswith("\n") and time.monotonic() < deadline:
            time.sleep(0.01)
        started = [int(pid) for pid in out.read_text().split()]
        assert started[0] == holder.pid

        os.close(lifeline)  # as the engine's death would
        lifeline = -1
        assert holder.wait(timeout=GONE_WITHIN) == -signal.SIGKILL
        wait_gone(started, GONE_WITHIN, "the watched process and what it started")
    finally:
        if lifeline >= 0:
            os.close(lifeline)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(holder.pid, signal.SIGKILL)
        kill_leftovers(started)
