"""A script whose entry point is not guarded ends with one clear error, never a restart loop.

Worker processes re-import the engine's main script (as `__mp_main__`) to
find its activities; a script without `if __name__ == "__main__":` opens its
engine again in every worker. These run real scripts in a subprocess, with a
real data directory and real worker processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
GUARD = 'under `if __name__ == "__main__":`'
SAME_FAILURE_LIMIT = 3  # the pool's: the same start failure this many times is permanent

ACTIVITY_AND_FLOW = """
from aion_actors import Engine, activity, workflow


@activity
def work(x: int) -> int:
    return x + 1


@workflow
async def flow(ctx, x):
    return await ctx.activity(work, x)
"""

UNGUARDED_LMDB = (
    ACTIVITY_AND_FLOW
    + """
import sys

with Engine.open(sys.argv[1], workers=2) as engine:  # no guard: workers run this again
    engine.register(flow, work)
    print(engine.start(flow, 1).result(timeout=120))
"""
)

UNGUARDED_MEMORY = (
    ACTIVITY_AND_FLOW
    + """
from aion_actors.store import MemoryStore

engine = Engine(MemoryStore(), workers=2)  # no guard: workers run this again
try:
    engine.register(flow, work)
    print(engine.start(flow, 1).result(timeout=120))
finally:
    engine.close()
"""
)


def _run_script(tmp_path: Path, source: str) -> tuple[subprocess.CompletedProcess[str], float]:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "data")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return done, time.monotonic() - began


@pytest.mark.timeout(TIMEOUT + 30)
def test_an_unguarded_script_exits_at_once_saying_to_guard_its_entry_point(
    tmp_path: Path,
) -> None:
    done, took = _run_script(tmp_path, UNGUARDED_LMDB)

    assert done.returncode != 0, done.stdout
    assert took < 30, f"took {took:.1f} s"
    stderr = done.stderr
    assert "WorkerStartFailed" in stderr
    # Named whether the engine refuses to open in the worker or the lock stops it first.
    assert f"the main script {tmp_path / 'app.py'}" in stderr and "as __mp_main__" in stderr
    assert GUARD in stderr
    assert "the pool stopped starting workers" in stderr
    # No restart loop: each of the 2 workers fails at most SAME_FAILURE_LIMIT times.
    assert stderr.count("DataDirLocked: data directory") <= SAME_FAILURE_LIMIT + 1
    assert stderr.count("worker process failed to start") <= 1


@pytest.mark.timeout(TIMEOUT + 30)
def test_an_engine_opened_while_a_worker_imports_the_script_is_refused_in_that_worker(
    tmp_path: Path,
) -> None:
    done, took = _run_script(tmp_path, UNGUARDED_MEMORY)

    assert done.returncode != 0, done.stdout
    assert took < 30, f"took {took:.1f} s"
    stderr = done.stderr
    assert (
        f"the main script {tmp_path / 'app.py'} opened an engine when a worker process "
        "imported it (as __mp_main__) to find its activities, so its entry point is not guarded"
    ) in stderr
    assert GUARD in stderr
    # The workers end before doing anything: the only traceback is the run's failure.
    assert stderr.count("Traceback (most recent call last)") == 1, stderr
    assert "worker process failed to start" not in stderr
