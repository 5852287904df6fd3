"""An engine process that pauses or resets a run, then waits to be killed.

`python -m tests.runtime.ops_child DATA_DIR MODE LEDGER`:
- `pause`: starts `signals_while_waiting` as "ops", pauses it, signals "item" = "a";
- `reset`: starts `waits_then_steps` as "ops" and, once it waits for its signal,
  resets it to its first activity's completion with fault point `reset` armed,
  so the process SIGKILLs itself between the old run's close and the new run's write.
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from aion_actors.core import events as ev
from aion_actors.core import faults
from tests.runtime import ops_flows


def main() -> None:
    data_dir, mode, ledger = sys.argv[1], sys.argv[2], sys.argv[3]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*ops_flows.ALL)
        if mode == "pause":
            engine.start("signals_while_waiting", ledger, workflow_id="ops")
            engine.pause("ops", "held by the test")
            engine.signal("ops", "item", "a")
        else:
            engine.start("waits_then_steps", ledger, workflow_id="ops")
            history: list[ev.Event] = []
            while not any(isinstance(e, ev.TimerStarted | ev.ActivityCompleted) for e in history):
                time.sleep(0.01)  # test-only: wait for the run to reach its signal wait
                history = engine.history("ops")
            done = next(e for e in history if isinstance(e, ev.ActivityCompleted))
            faults.arm("reset:1")
            engine.reset("ops", done.seq, "from the child")
        time.sleep(60)


if __name__ == "__main__":
    main()
