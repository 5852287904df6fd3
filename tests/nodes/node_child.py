"""A node in its own process: `python -m tests.nodes.node_child URL NODE_ID LEDGER N SECONDS NAP`.

Opens the store as node NODE_ID (lease 1 s, renewed every 0.25 s), and with
N > 0 starts runs r0..r(N-1) of `flows.chain` (it must own every partition:
start it alone). Prints STARTED, then waits to be killed or stopped.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator

from aion_actors import Engine
from tests.nodes import flows

LEASE = {"lease": 1.0, "renew_every": 0.25}


@contextlib.contextmanager
def ready_node(url: str, node_id: str, share: int) -> Iterator[Engine]:
    """Node `node_id` with `flows.ALL` registered, once it holds `share` partitions
    (READY printed); closed on exit. The request-reading children's start."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
    with Engine.open(url, workers=1, node_id=node_id, **LEASE) as engine:  # type: ignore[arg-type]
        engine.register(*flows.ALL)
        ready = threading.Event()
        while engine.stats()["partitions"] < share:
            ready.wait(0.05)  # (a test child: the node takes its share within a second)
        print("READY", flush=True)
        yield engine


def main() -> None:
    url, node_id, ledger, n, seconds, nap = sys.argv[1:7]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
    with Engine.open(url, workers=1, node_id=node_id, **LEASE) as engine:  # type: ignore[arg-type]
        engine.register(*flows.ALL)
        ids = [f"r{i}" for i in range(int(n))]
        if ids:
            engine.start_many(
                flows.chain,
                [(ledger, float(seconds), float(nap)) for _ in ids],
                workflow_ids=ids,
            )
        print("STARTED", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
