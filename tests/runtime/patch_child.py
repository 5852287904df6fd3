"""An engine process running one version of "payment": starts a run, waits to be killed.

`python -m tests.runtime.patch_child DATA_DIR VERSION WORKFLOW_ID AMOUNT`
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from tests.runtime import patch_flows


def main() -> None:
    data_dir, version, workflow_id, amount = sys.argv[1:5]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(patch_flows.VERSIONS[version], *patch_flows.ACTIVITIES)
        engine.start("payment", int(amount), workflow_id=workflow_id)
        time.sleep(60)


if __name__ == "__main__":
    main()
