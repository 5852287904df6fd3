"""Child-process entry: ``python -m aion_actors.bench._child NAME PARAMS_JSON OUT_PATH``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aion_actors.bench.harness import get_scenario
from aion_actors.bench.runner import run_to_json


def main(argv: list[str]) -> int:
    """Run one repetition of a scenario and write its Report as JSON to OUT_PATH."""
    name, params_json, out = argv
    text = run_to_json(get_scenario(name), json.loads(params_json))
    Path(out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
