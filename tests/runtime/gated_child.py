"""An engine process whose runs all stop at a closed gate: killed there, then reopened.

Run as `python -m tests.runtime.gated_child DATA_DIR LEDGER RUNS`; it starts
RUNS runs of `flows.gated_pair` and prints READY once each has its first
activity in flight, waiting for the gate file that the test creates only
after the kill.
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from aion_actors.core import events as ev
from tests.runtime import flows


def main() -> None:
    data_dir, ledger, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(flows.gated_pair, flows.gated_step)
        ids = [f"gated-{i}" for i in range(runs)]
        for i, workflow_id in enumerate(ids):
            engine.start(flows.gated_pair, ledger, i, workflow_id=workflow_id)
        while not all(
            any(isinstance(e, ev.ActivityScheduled) for e in engine.history(w)) for w in ids
        ):
            time.sleep(0.01)
        print("READY", flush=True)
        time.sleep(3600)


if __name__ == "__main__":
    main()
