"""An engine process that accepts one update and is killed before recording its answer.

`python -m tests.runtime.update_child DATA_DIR`, with `AION_FAULTS=update.accepted:1`
set by the caller: the engine starts `cart` as workflow `upd` and sends it update
`add_item` (id `u-crash`); it SIGKILLs itself once the handler has run, with
`UpdateAccepted` committed and `UpdateCompleted` not yet recorded.
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from tests.runtime import update_flows


def main() -> None:
    with Engine.open(sys.argv[1], workers=1) as engine:
        engine.register(*update_flows.ALL)
        engine.start(update_flows.cart, workflow_id="upd")
        engine.update("upd", "add_item", "apple", update_id="u-crash", timeout=60)
        time.sleep(60)  # not reached: the fault point kills the process first


if __name__ == "__main__":
    main()
