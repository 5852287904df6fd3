"""An engine process that calls a rate-limited activity, then waits to be killed.

`python -m tests.queues.limit_child DATA_DIR LEDGER`: run `a` calls `sparse` once and
closes; run `b` then calls it twice at once — one call goes, the other waits for the
rate's window (2 in 8 s), still waiting when the test kills this process.
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from tests.queues import limit_flows


def main() -> None:
    data_dir, ledger = sys.argv[1], sys.argv[2]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*limit_flows.ALL)
        engine.start(limit_flows.sparse_calls, ledger, 1, workflow_id="a").result(timeout=60)
        engine.start(limit_flows.sparse_calls, ledger, 2, workflow_id="b")
        time.sleep(120)


if __name__ == "__main__":
    main()
