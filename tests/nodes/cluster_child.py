"""A node of the cluster tests: `python -m tests.nodes.cluster_child URL NODE_ID LEDGER`.

Opens the store as node NODE_ID (lease 1 s), prints READY, then runs each line it
reads from stdin: `start ID,ID,..` (runs of `flows.mixed`, from this node whoever
owns them) prints `DONE start`; `signal ID PAYLOAD` prints `ACK ID PAYLOAD` once
the signal is recorded (`NACK ID PAYLOAD` when the run's partition moved away
meanwhile: nothing was recorded; `ENDED ID PAYLOAD` when the run had ended — a copy
sent before was recorded); `quit` closes the engine (handing its partitions over) and
exits. An error prints `ERROR <line>: <error>`.
"""

from __future__ import annotations

import faulthandler
import logging
import sys

from aion_actors import Engine, OwnershipLost, WorkflowClosed
from tests.nodes import flows
from tests.nodes.node_child import LEASE


def main() -> None:
    url, node_id, ledger = sys.argv[1:4]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(message)s")
    with Engine.open(url, workers=1, node_id=node_id, **LEASE) as engine:  # type: ignore[arg-type]
        engine.register(*flows.ALL)
        print("READY", flush=True)
        for line in sys.stdin:
            verb, *args = line.split()
            try:
                if verb == "start":
                    ids = args[0].split(",")
                    engine.start_many(flows.mixed, [(ledger,)] * len(ids), workflow_ids=ids)
                    print("DONE start", flush=True)
                elif verb == "signal":
                    try:
                        engine.signal(args[0], "go", args[1], timeout=60)
                    except OwnershipLost as exc:  # its run moved meanwhile: nothing recorded
                        print(f"NACK {args[0]} {args[1]} {type(exc).__name__}", flush=True)
                    except WorkflowClosed:  # (a copy sent before, unacknowledged, was recorded)
                        print(f"ENDED {args[0]} {args[1]}", flush=True)
                    else:
                        print(f"ACK {args[0]} {args[1]}", flush=True)
                elif verb == "quit":
                    break
            except Exception as exc:
                print(f"ERROR {line.strip()}: {type(exc).__name__}: {exc}", flush=True)
    print("CLOSED", flush=True)
    faulthandler.dump_traceback_later(50, exit=True)  # (a thread that outlives the engine)


if __name__ == "__main__":
    main()
