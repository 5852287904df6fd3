"""A node of the cluster tests: `python -m tests.nodes.cluster_child URL NODE_ID LEDGER SENDERS`.

Opens the store as node NODE_ID (lease 1 s), prints READY, then runs each line it
reads from stdin: `start ID,ID,..` (runs of `flows.mixed`, from this node whoever
owns them) prints `DONE start`; `signal ID PAYLOAD` prints `ACK ID PAYLOAD` once
the signal is recorded (`NACK ID PAYLOAD` when the run's partition moved away
meanwhile: nothing was recorded; `ENDED ID PAYLOAD` when the run had ended — a copy
sent before was recorded); `quit` waits for the signals in flight, closes the engine
(handing its partitions over) and exits. An error prints `ERROR <line>: <error>`.

Signals are sent SENDERS at a time, as a busy client's threads would (their
outcomes print in the order they come): a node has that many calls in flight when
it is killed, and a test does not wait out one round trip per signal.
"""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from aion_actors import Engine, OwnershipLost, WorkflowClosed
from tests.nodes import flows
from tests.nodes.node_child import LEASE

#: signals in flight at once
SENDERS = 1

_printing = threading.Lock()


def _say(line: str) -> None:
    with _printing:
        print(line, flush=True)


def _signal(engine: Engine, line: str, wid: str, payload: str) -> None:
    try:
        engine.signal(wid, "go", payload, timeout=60)
    except OwnershipLost as exc:  # its run moved meanwhile: nothing recorded
        _say(f"NACK {wid} {payload} {type(exc).__name__}")
    except WorkflowClosed:  # (a copy sent before, unacknowledged, was recorded)
        _say(f"ENDED {wid} {payload}")
    except Exception as exc:
        _say(f"ERROR {line.strip()}: {type(exc).__name__}: {exc}")
    else:
        _say(f"ACK {wid} {payload}")


def main() -> None:
    url, node_id, ledger, senders = sys.argv[1:5]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(message)s")
    with (
        Engine.open(url, workers=1, node_id=node_id, **LEASE) as engine,  # type: ignore[arg-type]
        ThreadPoolExecutor(int(senders), thread_name_prefix="signal") as pool,
    ):
        engine.register(*flows.ALL)
        _say("READY")
        for line in sys.stdin:
            verb, *args = line.split()
            try:
                if verb == "start":
                    ids = args[0].split(",")
                    engine.start_many(flows.mixed, [(ledger,)] * len(ids), workflow_ids=ids)
                    _say("DONE start")
                elif verb == "signal":
                    pool.submit(_signal, engine, line, args[0], args[1])
                elif verb == "quit":
                    break
            except Exception as exc:
                _say(f"ERROR {line.strip()}: {type(exc).__name__}: {exc}")
        pool.shutdown(wait=True)  # (before the engine closes)
    _say("CLOSED")
    faulthandler.dump_traceback_later(50, exit=True)  # (a thread that outlives the engine)


if __name__ == "__main__":
    main()
