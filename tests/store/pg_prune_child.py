"""Deletes a long run of a Postgres store and dies half-way: `URL` (run with
AION_FAULTS=prune.middle:N). Deletions go `CHUNK` = 4 events per transaction, so the
run is invisible and most of its events remain when the fault point SIGKILLs it."""

from __future__ import annotations

import sys

from aion_actors.core import events as ev
from aion_actors.store.postgres import PostgresStore, _prune
from tests.store.helpers import signals, started


def main(url: str) -> None:
    _prune.CHUNK = 4  # type: ignore[misc]  # (this process only: many transactions per run)
    with PostgresStore(url) as store:
        store.append("long", "r1", [started(), *signals(30), ev.WorkflowCompleted()], 0)
        store.append("kept", "r1", [started(), *signals(3)], 0)
        print("deleting", flush=True)
        store.delete_run("long", "r1")
    print("survived", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
