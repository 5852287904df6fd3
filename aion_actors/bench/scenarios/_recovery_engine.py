"""The engine process the `recovery` scenario kills: it starts `runs` runs, then keeps going.

`python -m aion_actors.bench.scenarios._recovery_engine DATA LEDGER RUNS` prints
READY once every run is started; the scenario SIGKILLs its process group.
Activities wait for a gate file next to the ledger, which the scenario only
creates after the kill, so every run is in flight when the engine dies.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from aion_actors import Engine, WorkflowContext, activity, current_attempt, workflow
from aion_actors.bench.scenarios._gates import wait_open

#: ledger path -> a descriptor opened for appending, once the gate has been seen open
_ledgers: dict[str, int] = {}
_opening = threading.Lock()


@activity(executor="thread")
def work(ledger: str, value: int) -> int:
    """A side effect with a ledger line, so a second execution would show.

    It waits for the gate only until it has seen it open, and appends with
    one write to a descriptor it keeps: the figure is the engine's, not the
    cost of polling or opening files. A line written is in the kernel at
    once, so it outlives a SIGKILL of this process.
    """
    info = current_attempt()
    os.write(_ledger(ledger), f"{info.workflow_id} {info.activity_id}\n".encode())
    return value + 1


def _ledger(path: str) -> int:
    fd = _ledgers.get(path)
    if fd is not None:
        return fd
    wait_open(os.path.splitext(path)[0] + ".gate")  # the scenario holds it shut until reopening
    with _opening:
        if path not in _ledgers:
            _ledgers[path] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        return _ledgers[path]


def close_ledgers() -> None:
    """Close the descriptors `work` opened in this process."""
    with _opening:
        for fd in _ledgers.values():
            os.close(fd)
        _ledgers.clear()


@workflow
async def three_works(ctx: WorkflowContext, ledger: str, value: int) -> int:
    for _ in range(3):
        value = await ctx.activity(work, ledger, value)
    return value


def main() -> None:
    data, ledger, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Engine.open(data, workers=1) as engine:
        engine.register(three_works, work)
        with ThreadPoolExecutor(32) as starters:  # starts wait for commits: overlap them
            list(
                starters.map(
                    lambda i: engine.start(three_works, ledger, i, workflow_id=f"r{i}"), range(runs)
                )
            )
        print("READY", flush=True)
        time.sleep(3600)


if __name__ == "__main__":
    main()
