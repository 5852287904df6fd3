"""Open a damaged data directory in a process of its own: `store|readonly|engine DIR`.

Prints the type and message of the error it raised, or `opened N`; a
regression to mapping a truncated file dies of SIGBUS here, not in the test.
"""

from __future__ import annotations

import sys

from aion_actors import Engine
from aion_actors.store import LmdbStore


def main(how: str, path: str) -> None:
    try:
        if how == "engine":
            with Engine.open(path, workers=1) as engine:
                print("opened", len(engine.list_runs()))
        else:
            with LmdbStore(path, readonly=how == "readonly") as store:
                print("opened", len(store.runs()))
    except Exception as exc:
        print(type(exc).__name__, exc)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
