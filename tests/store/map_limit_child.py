"""Fills a store whose map cannot grow (the address space is capped), in its own process."""

from __future__ import annotations

import resource
import sys

from aion_actors.core import StoreFull
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore


def main(path: str) -> None:
    store = LmdbStore(path, map_size=1 << 20)
    with open("/proc/self/status") as status:
        size_kib = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
    cap = size_kib * 1024 + 48 * 1024 * 1024  # room for the map to grow a few times, no more
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    started = ev.WorkflowStarted(workflow_type="t", input=[], run_id="r", version="v")
    seq = store.append("w", "r", [started], 0)
    refusals = 0
    for _ in range(200_000):
        try:
            seq = store.append("w", "r", [ev.SignalReceived(name="s", payload="x" * 2000)], seq)
        except StoreFull as full:
            refusals += 1
            message = str(full)
            if refusals == 3:
                break
    assert refusals == 3, "the map grew without end"
    assert store.head("w", "r") == seq  # what was committed is all there, and readable
    assert len(store.read("w", "r", seq)) == 1
    store.close()
    print(message)


if __name__ == "__main__":
    main(sys.argv[1])
