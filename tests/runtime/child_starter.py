"""An engine process that SIGKILLs itself as a run starts its child.

Run as `AION_FAULTS=child.starting:1 python -m tests.runtime.child_starter DATA_DIR`:
it starts `flows.parent_of_doubles`, whose `ChildStarted` is committed and
whose child is never created, because the fault kills the process first.
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from tests.runtime import flows


def main() -> None:
    with Engine.open(sys.argv[1], workers=1) as engine:
        engine.register(flows.parent_of_doubles, flows.doubles)
        engine.start(flows.parent_of_doubles, 20, workflow_id="parent")
        time.sleep(60)  # the fault ends the process long before


if __name__ == "__main__":
    main()
