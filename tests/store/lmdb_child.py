"""A second process for the LMDB tests: `owner DIR MAP_SIZE`, `reader DIR RUN`,
`inspector DIR` or `mid-read DIR`.

The owner prints `ready`, then obeys `append RUN N` lines from stdin
(answering `ok HEAD`) until stdin closes. The reader prints what it read as
JSON, and the name of the error a write attempt raised. The inspector opens
the store read-only, prints `open` and waits for stdin to close. `mid-read`
opens it read-only as the CLI does, enters a read transaction (the one every
read of the store runs in), prints `reading` and waits there to be killed.
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


def inspector(path: str) -> None:
    with LmdbStore(path, readonly=True):
        print("open", flush=True)
        sys.stdin.read()


def mid_read(path: str) -> None:
    store = LmdbStore(path, readonly=True)
    with store._reading() as txn:  # noqa: SLF001 - to be killed inside a store's own read
        txn.get(b"runs")
        print("reading", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    if sys.argv[1] == "owner":
        owner(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "inspector":
        inspector(sys.argv[2])
    elif sys.argv[1] == "mid-read":
        mid_read(sys.argv[2])
    else:
        reader(sys.argv[2], sys.argv[3])
