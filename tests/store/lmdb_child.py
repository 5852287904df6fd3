"""A second process for the LMDB tests: `owner DIR MAP_SIZE` or `reader DIR RUN`.

The owner prints `ready`, then obeys `append RUN N` lines from stdin
(answering `ok HEAD`) until stdin closes. The reader prints what it read as
JSON, and the name of the error a write attempt raised.
"""

from __future__ import annotations

import json
import sys

from aion_actors.core import AionError
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore


def owner(path: str, map_size: int) -> None:
    with LmdbStore(path, map_size=map_size, durability="nosync") as store:
        print("ready", flush=True)
        for line in sys.stdin:
            _, run, count = line.split()
            events = [ev.SignalReceived(name="s", payload="x" * 1000) for _ in range(int(count))]
            head = store.append("w", run, events, store.head("w", run))
            print("ok", head, flush=True)


def reader(path: str, run: str) -> None:
    with LmdbStore(path, readonly=True) as store:
        seqs = [e.seq for e in store.read("w", run)]
        try:
            store.append("w", run, [ev.SignalReceived(name="s")], len(seqs))
        except AionError as exc:
            refused = type(exc).__name__
        print(json.dumps({"seqs": seqs, "refused": refused}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "owner":
        owner(sys.argv[2], int(sys.argv[3]))
    else:
        reader(sys.argv[2], sys.argv[3])
