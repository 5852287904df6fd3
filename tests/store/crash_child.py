"""The crash test's child: appends acknowledged batches through a Recorder until killed.

`python -m tests.store.crash_child DIR ACKS TAG` runs four writer threads,
each on its own run, appending batches of 1-20 events (durability sync).
Every event names its batch, the batch size and its index in the batch;
after each acknowledged append a line `run first last batch` is appended to
ACKS and fsync'd, so whatever the parent finds there was acknowledged.
"""

from __future__ import annotations

import os
import random
import sys
import threading

from aion_actors.core import events as ev
from aion_actors.store import LmdbStore, Recorder

WORKFLOW = "crash"


def main(path: str, acks_path: str, tag: str) -> None:
    acks = os.open(acks_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    acks_lock = threading.Lock()
    store = LmdbStore(path, durability="sync")
    recorder = Recorder(store)

    def write(index: int) -> None:
        rng = random.Random(f"{tag}-{index}")
        run = f"run{index}"
        head = recorder.head(WORKFLOW, run)
        for number in range(10**9):
            batch, size = f"{tag}-{index}-{number}", rng.randint(1, 20)
            events = [
                ev.SignalReceived(name="b", payload={"batch": batch, "size": size, "i": i})
                for i in range(size)
            ]
            recorder.append(WORKFLOW, run, events, head)
            with acks_lock:
                os.write(acks, f"{run} {head + 1} {head + size} {batch}\n".encode())
                os.fsync(acks)
            head += size

    for index in range(4):
        threading.Thread(target=write, args=(index,), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(*sys.argv[1:4])
