"""`aion-actors copy SRC DEST [--json]`: every run of one store into another, empty store
(a data directory into PostgreSQL, or back), checked run by run (see `store.copying`)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.console import Console
from rich.markup import escape

from aion_actors.cli.inspection import print_json
from aion_actors.store import Copied, copy_store

#: seconds between progress lines on a terminal
_EVERY = 2.0


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    cmd = commands.add_parser(
        "copy",
        parents=[common],
        help="copy every run of a store into an empty one (a data directory into PostgreSQL)",
        description="Copy every run of SRC — open runs with their timers, schedules, children, "
        "search attributes — into DEST, which must hold no run: each run's events as recorded, "
        "through DEST's own appends, so DEST builds its indexes, timers and retention itself. "
        "Then every run, timer and retention entry is checked against SRC. SRC and DEST are "
        "data directories or postgresql:// URLs. SRC's lock is held throughout (refused while "
        "an engine owns it). DEST is marked incomplete until the copy is checked: no engine "
        "opens it meanwhile, and the same command run again after an interruption resumes it.",
    )
    cmd.add_argument("src", metavar="SRC", help="a data directory or a postgresql:// URL")
    cmd.add_argument(
        "dest",
        metavar="DEST",
        help="a new or empty directory (its parent must exist), or a postgresql:// URL of an "
        "empty store or a new schema (?schema=NAME)",
    )
    cmd.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    made = copy_store(args.src, args.dest, progress=_progress(err))
    if args.json:
        print_json(document(made))
        return 0
    resumed = f", {made.resumed} of them copied before it was interrupted" if made.resumed else ""
    apart = f" ({made.timers_apart} set apart from events)" if made.timers_apart else ""
    out.print(
        f"copied {made.runs} run(s) ({made.open_runs} open{resumed}; {made.events} events, "
        f"{made.timers} timer(s){apart}) from {escape(made.source)} to {escape(made.dest)} in "
        f"{made.seconds:.1f} s; every run, timer and retention entry checked against the "
        "source — open an engine on the copy (and not on the source any more)",
        highlight=False,
        soft_wrap=True,
    )
    return 0


def document(made: Copied) -> dict[str, Any]:
    return {
        "source": made.source,
        "dest": made.dest,
        "runs": made.runs,
        "open_runs": made.open_runs,
        "events": made.events,
        "timers": made.timers,
        "timers_apart": made.timers_apart,
        "resumed": made.resumed,
        "seconds": round(made.seconds, 3),
    }


def _progress(err: Console) -> Any:
    """A progress line on stderr every few seconds, on a terminal only."""
    if not err.is_terminal:
        return None
    due = time.monotonic() + _EVERY

    def show(done: int, total: int) -> None:
        nonlocal due
        if time.monotonic() >= due:
            due = time.monotonic() + _EVERY
            err.print(f"copied {done:,} of {total:,} runs", highlight=False)

    return show
