"""An engine process for crash tests: starts the runs it has not started, waits for all.

Run as `python -m tests.runtime.engine_child DATA_DIR LEDGER RUNS`; it prints
READY once its runs are started, and the tests SIGKILL its process group at
random moments after that, then run it again with more runs.
"""

from __future__ import annotations

import sys

from aion_actors import Engine, WorkflowNotFound
from tests.runtime import flows


def main() -> None:
    data_dir, ledger, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Engine.open(data_dir, workers=2) as engine:
        engine.register(*flows.ALL)
        handles = []
        for i in range(runs):
            workflow_id = f"run-{i}"
            try:
                engine.describe(workflow_id)
            except WorkflowNotFound:
                engine.start(flows.five_steps, ledger, i, workflow_id=workflow_id)
            handles.append(workflow_id)
        print("READY", flush=True)
        for workflow_id in handles:
            engine.result(workflow_id, timeout=120)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
