"""An engine process with the crash test's schedule (every quarter second), waiting to be
killed.

`python -m tests.schedules.schedule_child DATA_DIR`
"""

from __future__ import annotations

import sys
import threading

from aion_actors import Engine
from tests.schedules import flows
from tests.schedules.test_schedule_crash import NAME, SPEC


def main() -> None:
    with Engine.open(sys.argv[1], workers=1) as engine:
        engine.register(*flows.ALL)
        engine.schedule(NAME, flows.tick, ["s"], **SPEC)
        threading.Event().wait(120)  # until SIGKILLed


if __name__ == "__main__":
    main()
