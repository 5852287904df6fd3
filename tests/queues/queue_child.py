"""An engine process that enqueues runs through a queue, then waits to be killed.

`python -m tests.queues.queue_child DATA_DIR LEDGER COUNT [QUEUE]`: QUEUE is `paced`
(`concurrency=3`, the default) or `rated` (`rate=(10, 5.0)`); each run of `paced`
notes its workflow_id in LEDGER from an activity; the file LEDGER.enqueued appears
once all COUNT runs are enqueued. `enqueuing` runs it for a test and kills it.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from aion_actors import Engine
from tests.crashes import kill_engine
from tests.queues import flows
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]

QUEUES = {"paced": flows.PACED_QUEUE, "rated": flows.RATED_QUEUE}


@contextlib.contextmanager
def enqueuing(data: Path, ledger: str, count: int, queue: str = "paced") -> Iterator[None]:
    """This module in an engine process of its own: the block runs once its `count` runs
    are enqueued, and the process is SIGKILLed as the block ends."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.queues.queue_child", str(data), ledger, str(count), queue],
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: Path(ledger + ".enqueued").exists(), 90, "every run to be enqueued")
        yield
    finally:
        kill_engine(child)


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
