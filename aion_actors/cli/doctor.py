"""`doctor DIR [--rebuild-index | --create-empty]`: what is damaged in a data directory.

Exit 0 when the directory is healthy (after the repair asked for), 1 when
damage is found; the checks themselves are `aion_actors.store.doctor`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from aion_actors.cli.inspection import print_json
from aion_actors.store import doctor as checks

_MARKS = {True: ("ok", "green"), False: ("DAMAGED", "bold red"), None: ("skipped", "yellow")}


def doctor(
    directory: Path,
    console: Console,
    *,
    rebuild: bool = False,
    create_empty: bool = False,
    as_json: bool = False,
) -> int:
    done: list[str] = []
    if create_empty:
        checks.create_empty(directory)
        done.append(
            f"created an empty store in {directory}; the runs the lost data file held are gone"
        )
    if rebuild:
        rebuilt = checks.rebuild_index(directory)
        done.append(
            f"rebuilt the run index and the timers of {directory} from the events: "
            f"{rebuilt.runs:,} runs, {rebuilt.timers:,} timers"
        )
    up = checks.check(directory)
    if as_json:
        print_json(_document(up, done))
    else:
        _print(up, done, console)
    return 0 if up.healthy else 1


def _document(up: checks.Checkup, done: list[str]) -> dict[str, Any]:
    return {
        "directory": str(up.directory),
        "healthy": up.healthy,
        "repairs": done,
        "checks": [{"check": name, "ok": ok, "found": found} for name, found, ok in up.steps],
        "findings": [{"part": f.part, "where": f.where, "problem": f.problem} for f in up.findings],
        "advice": None if up.healthy else _advice(up),
    }


def _print(up: checks.Checkup, done: list[str], console: Console) -> None:
    text = Text()
    for line in done:
        text.append(line + "\n")
    text.append(f"data directory {up.directory}\n", style="bold")
    width = max(len(name) for name, _, _ in up.steps)
    for name, found, ok in up.steps:
        mark, style = _MARKS[ok]
        text.append(f"  {mark:<9}", style=style)
        text.append(f"{name:<{width}}  {found}\n")
    if up.findings:
        text.append(f"{len(up.findings):,} problem(s):\n", style="bold red")
        for finding in up.findings:
            text.append(f"  {finding}\n")
        text.append(_advice(up) + "\n")
    else:
        text.append("healthy: no damage found\n", style="green")
    console.print(text, soft_wrap=True, end="")


def _advice(up: checks.Checkup) -> str:
    directory = up.directory
    parts = {f.part for f in up.findings}
    if up.index_damage_only:
        return (
            f"`aion-actors doctor {directory} --rebuild-index` rebuilds the run index, the "
            "timers and the search and expiry indexes from the events (stop the engine that "
            "owns the directory first)"
        )
    if up.lost:
        return (
            "restore data.mdb from a backup; to start over with an empty store instead, run "
            f"`aion-actors doctor {directory} --create-empty`"
        )
    if parts <= {"events", "index", "timers"}:
        return (
            "restore the data directory from a backup; runs whose events are damaged are "
            "parked by the engine and can be terminated, and `--rebuild-index` rewrites their "
            "index entries from the events that remain"
        )
    return "restore the data directory from a backup; nothing here was changed"
