"""An engine process whose async update handler awaits an activity, then a timer.

`python -m tests.runtime.async_update_child DATA_DIR LEDGER`: starts
`async_updates` as workflow `aupd` and sends it update `stamp_then_nap`
(id `u-async`); the caller SIGKILLs it once the activity's completion is in
history, while the handler sleeps and `UpdateCompleted` is not recorded.
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from tests.runtime import update_flows


def main() -> None:
    data_dir, ledger = sys.argv[1], sys.argv[2]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*update_flows.ALL)
        engine.start(update_flows.async_updates, ledger, workflow_id="aupd")
        engine.update("aupd", "stamp_then_nap", "x", update_id="u-async", timeout=60)
        time.sleep(60)  # not reached in the test: it is killed while the handler sleeps


if __name__ == "__main__":
    main()
