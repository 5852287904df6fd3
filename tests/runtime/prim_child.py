"""An engine process that starts one primitive's workflow and then waits to be killed.

`python -m tests.runtime.prim_child DATA_DIR WORKFLOW LEDGER`; with WORKFLOW
`signal_then_notes` it also sends the signal `go`, with `handler_then_notes`
two signals `add` for its handler.
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from tests.runtime import prims


def main() -> None:
    data_dir, name, ledger = sys.argv[1], sys.argv[2], sys.argv[3]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*prims.ALL)
        engine.start(name, ledger, workflow_id="prim")
        if name == "signal_then_notes":
            engine.signal("prim", "go", "green")
        if name == "handler_then_notes":
            engine.signal("prim", "add", "a")
            engine.signal("prim", "add", "b")
        time.sleep(60)


if __name__ == "__main__":
    main()
