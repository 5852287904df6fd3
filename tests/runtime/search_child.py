"""An engine process that starts `tagged` runs, then waits to be killed.

`python -m tests.runtime.search_child DATA_DIR LEDGER`: starts `t-1` (customer c-7)
and `t-2` (customer c-8) with a memo, lets both reach their signal wait.
"""

from __future__ import annotations

import sys
import time

from aion_actors import Engine
from tests.runtime import search_flows


def main() -> None:
    data_dir, ledger = sys.argv[1], sys.argv[2]
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*search_flows.ALL)
        engine.start("tagged", ledger, "c-7", workflow_id="t-1", memo={"note": "first"})
        engine.start("tagged", ledger, "c-8", workflow_id="t-2")
        time.sleep(60)


if __name__ == "__main__":
    main()
