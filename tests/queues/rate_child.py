"""An engine process that enqueues runs through a rate-limited queue, then waits to be killed.

`python -m tests.queues.rate_child DATA_DIR LEDGER COUNT`: each run of `paced` notes its
workflow_id in LEDGER from an activity; LEDGER.enqueued appears once all COUNT runs are
enqueued.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from aion_actors import Engine
from tests.queues import flows


def main() -> None:
    data_dir, ledger, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL, flows.RATED_QUEUE)
        for i in range(count):
            engine.enqueue(flows.RATED_QUEUE, flows.paced, ledger, workflow_id=f"run-{i:03d}")
        Path(ledger + ".enqueued").touch()
        time.sleep(120)


if __name__ == "__main__":
    main()
