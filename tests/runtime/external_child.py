"""An engine process whose workflow `asker` signals workflow `asked` (a TARGET workflow)
once; run with `AION_FAULTS=external.answering:1` it SIGKILLs itself after `asked`
recorded the signal and before `asker` hears so.

`python -m tests.runtime.external_child DATA_DIR TARGET`; TARGET `cancel` cancels
`waits_for_go` instead.
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from tests.runtime import handle_flows


def main() -> None:
    data_dir, target = sys.argv[1], sys.argv[2]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*handle_flows.ALL)
        if target == "cancel":  # the request is a cancel
            engine.start(handle_flows.waits_for_go, workflow_id="asked")
            engine.start(handle_flows.cancels_another, "asked", workflow_id="asker")
        else:
            engine.start(target, workflow_id="asked")
            engine.start(handle_flows.signals_another, "asked", 7, workflow_id="asker")
        time.sleep(60)


if __name__ == "__main__":
    main()
