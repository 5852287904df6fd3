"""An engine in another process: `python -m tests.reliability.holder DIR MODE`.

MODE `hold` starts a run that waits for a signal; MODE `stall` starts a run
whose activity sleeps for two minutes and waits until it is scheduled. Then
it prints READY and keeps the directory until its stdin closes (or it is
killed, which is the point of most tests using it).
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from aion_actors.core import events as ev
from tests.reliability import flows


def main() -> None:
    data_dir, mode = sys.argv[1], sys.argv[2]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL, flows.stalls, flows.runs_stalls)
        if mode == "hold":
            engine.start(flows.waits, workflow_id="held")
        else:
            engine.start(flows.runs_stalls, workflow_id="stalled")
            while not any(isinstance(e, ev.ActivityScheduled) for e in engine.history("stalled")):
                time.sleep(0.01)
        print("READY", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
