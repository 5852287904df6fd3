"""A node taking orders: `python -m tests.nodes.call_child URL NODE_ID`.

Opens the store as node NODE_ID (lease 1 s), prints READY once it holds at least
`sys.argv[3]` partitions (default 32), then runs each line it reads from stdin —
`start WID COUNT`, `signal WID PAYLOAD`, `query WID`, `parent WID KID,KID,..` —
printing `DONE <line>` (or `ERROR <line>: <error>`). Fault points come from `AION_FAULTS`.
"""

from __future__ import annotations

import sys

from tests.nodes import flows
from tests.nodes.node_child import ready_node


def main() -> None:
    url, node_id = sys.argv[1:3]
    share = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    with ready_node(url, node_id, share) as engine:
        for line in sys.stdin:
            verb, wid, arg = [*line.split(), "", ""][:3]
            try:
                if verb == "start":
                    engine.start(flows.waiter, int(arg), workflow_id=wid)
                    print(f"DONE {line.strip()}", flush=True)
                elif verb == "signal":
                    engine.signal(wid, "item", arg)
                    print(f"DONE {line.strip()}", flush=True)
                elif verb == "parent":  # ARG: its children's ids, comma-separated
                    engine.start(flows.parent, arg.split(","), 0.2, workflow_id=wid)
                    print(f"DONE {line.strip()}", flush=True)
                elif verb == "query":
                    print(f"DONE {engine.query(wid, 'items', timeout=3.0)}", flush=True)
            except Exception as exc:
                print(f"ERROR {line.strip()}: {type(exc).__name__}: {exc}", flush=True)


if __name__ == "__main__":
    main()
