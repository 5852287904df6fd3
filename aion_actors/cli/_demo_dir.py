"""Which data directory a demo may use: a new or empty one, or a demo's own.

The demo writes 'order' workflows into the store of its data directory and
checks every order of its `--runs` against its card ledger, so it must never
run in another store (a user's production data), nor in a demo's directory
with another count of orders (its verdict would mix both). A demo records
how many orders it was started with in `MARKER`, first of all it writes; the
same `--runs` on that directory finishes it (as after an interruption).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from aion_actors.cli import _invocation, _ledger
from aion_actors.cli._when import UsageError

#: written first into a demo's data directory: `{"runs": N}`
MARKER = "aion-demo.json"


def claim(data: Path, runs: int) -> None:
    """Make `data` a demo's data directory of `runs` orders, or find it is one; a
    `UsageError` (nothing written) for anything else."""
    if data.exists() and not data.is_dir():
        raise _refused(data, "is not a directory")
    if not data.exists() or not any(data.iterdir()):
        data.mkdir(parents=True, exist_ok=True)
        (data / MARKER).write_text(json.dumps({"runs": runs}) + "\n")
        return
    started = _started_with(data)
    if started is None and (data / _ledger.LEDGER_FILE).exists():
        raise _refused(
            data,
            "holds a demo from an older aion-actors, which does not say how many orders "
            f"it was started with (no {MARKER} there)",
        )
    if started is None:
        raise _refused(
            data,
            f"is not empty and is not a demo's data directory (no {MARKER} there): the demo "
            "would write its order workflows into the store it holds",
        )
    if started != runs:
        raise _refused(
            data,
            f"holds a demo started with --runs {started}, not --runs {runs}; to finish it: "
            f"{finish_command(data, started)}",
        )


def finish_command(data: Path, runs: int) -> str:
    """The command that finishes the demo of `runs` orders in `data`."""
    return f"{_invocation.command()} demo --runs {runs} --data {shlex.quote(str(data))}"


def _refused(data: Path, why: str) -> UsageError:
    return UsageError(
        f"--data {data} {why}; nothing was written. For a new demo, give --data a new or "
        "empty directory, or leave it out for a new temporary one"
    )


def _started_with(data: Path) -> int | None:
    """The `--runs` of the demo that made `data`; None if no demo says so there."""
    try:
        runs = json.loads((data / MARKER).read_text()).get("runs")
    except (OSError, ValueError, AttributeError):
        return None
    return runs if isinstance(runs, int) and not isinstance(runs, bool) and runs >= 1 else None
