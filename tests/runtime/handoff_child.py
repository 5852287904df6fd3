"""An engine process that starts a run whose activity hands off, then waits to be killed.

`python -m tests.runtime.handoff_child DATA_DIR PATH EXECUTOR [TIMEOUT MAX_ATTEMPTS]`:
with a TIMEOUT, the activity's attempts have that `timeout=` and that many attempts.
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine, RetryPolicy
from tests.runtime import handoffs


def main() -> None:
    data_dir, path, executor = sys.argv[1], sys.argv[2], sys.argv[3]
    with Engine.open(data_dir, workers=1) as engine:
        if len(sys.argv) > 4:
            timeout, attempts = float(sys.argv[4]), int(sys.argv[5])
            retry = RetryPolicy(max_attempts=attempts, initial=0.01)
            engine.register(*handoffs.ALL, timeout=timeout, retry=retry)
        else:
            engine.register(*handoffs.ALL)
        engine.start(handoffs.awaits_handoff, path, executor, workflow_id="later")
        time.sleep(60)


if __name__ == "__main__":
    main()
