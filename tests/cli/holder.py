"""Owns a data directory in another process: `python -m tests.cli.holder DIR`.

It opens an engine, starts a run that waits for a signal, prints READY and
keeps the directory locked until its stdin closes.
"""

from __future__ import annotations

import sys

from aion_actors import Engine
from tests.cli import flows


def main() -> None:
    with Engine.open(sys.argv[1], workers=1) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.awaits_approval, workflow_id="held-open")
        print("READY", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
