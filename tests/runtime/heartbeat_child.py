"""An engine process that runs one heartbeat scenario and then waits to be killed.

`python -m tests.runtime.heartbeat_child DATA_DIR SCENARIO LEDGER`:
- `details`: the activity `resumes` counts with heartbeats until the engine is killed;
- `cancel`: the activity `ignores_cancel_long` runs, and once it has started the
  workflow is cancelled; the attempt ignores it for a minute (its grace).
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from tests.runtime import heartbeat_flows as hb
from tests.workers.helpers import wait_until


def main() -> None:
    data_dir, scenario, ledger = sys.argv[1], sys.argv[2], sys.argv[3]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*hb.ALL)
        name = "resumes" if scenario == "details" else "ignores_cancel_long"
        engine.start(hb.awaits, name, ledger, workflow_id="hb")
        if scenario == "cancel":
            wait_until(lambda: any(n[0] == "started" for n in hb.notes(ledger)), 30)
            engine.cancel("hb", "stop")
        time.sleep(60)


if __name__ == "__main__":
    main()
