"""A node taking queue orders: `python -m tests.nodes.queue_child URL NODE_ID [SHARE]`.

Opens the store as node NODE_ID (lease 1 s), prints READY once it holds at least
SHARE partitions (default 32), then runs each line it reads from stdin —
`queue NAME CONCURRENCY` (registers `Queue(NAME, concurrency=CONCURRENCY)`),
`enqueue NAME WID LEDGER` (enqueues a `flows.chain` run) — printing `DONE <line>`
(or `ERROR <line>: <error>`).
"""

from __future__ import annotations

import sys

from aion_actors import Queue
from tests.nodes import flows
from tests.nodes.node_child import ready_node

#: the `flows.chain` a queued run runs: each activity's seconds, the nap between them
CHAIN = (0.2, 0.1)


def main() -> None:
    url, node_id = sys.argv[1:3]
    share = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    with ready_node(url, node_id, share) as engine:
        for line in sys.stdin:
            verb, name, *rest = line.split()
            try:
                if verb == "queue":
                    engine.register(Queue(name, concurrency=int(rest[0])))
                elif verb == "enqueue":
                    wid, ledger = rest
                    engine.enqueue(name, flows.chain, ledger, *CHAIN, workflow_id=wid)
                print(f"DONE {line.strip()}", flush=True)
            except Exception as exc:
                print(f"ERROR {line.strip()}: {type(exc).__name__}: {exc}", flush=True)


if __name__ == "__main__":
    main()
