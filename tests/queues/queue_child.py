"""An engine process that enqueues runs through a queue, then waits to be killed.

`python -m tests.queues.queue_child DATA_DIR LEDGER COUNT [QUEUE]`: QUEUE is `paced`
(`concurrency=3`, the default) or `rated` (`rate=(10, 5.0)`); each run of `paced`
notes its workflow_id in LEDGER from an activity; the file LEDGER.enqueued appears
once all COUNT runs are enqueued.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from aion_actors import Engine
from tests.queues import flows

QUEUES = {"paced": flows.PACED_QUEUE, "rated": flows.RATED_QUEUE}


def main() -> None:
    data_dir, ledger, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    queue = QUEUES[sys.argv[4] if len(sys.argv) > 4 else "paced"]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL, queue)
        for i in range(count):
            engine.enqueue(queue, flows.paced, ledger, workflow_id=f"run-{i:03d}")
        Path(ledger + ".enqueued").touch()
        time.sleep(120)


if __name__ == "__main__":
    main()
