"""`aion-actors schedules DIR|URL`: the schedules a store holds, read without owning it.

Each schedule is the open run `schedule:<name>` of the built-in workflow
`aion.schedule`; what it last published (its search attributes) is what is
listed: name, firing rule, next fire time, paused, last run and counters.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aion_actors.cli.inspection import open_readonly, print_json
from aion_actors.schedules import SCHEDULE_WORKFLOW
from aion_actors.schedules.info import info_of


def schedules(data: Path | str, console: Console, *, as_json: bool = False) -> int:
    with open_readonly(data) as store:
        runs = store.runs(workflow_type=SCHEDULE_WORKFLOW)
    found = sorted((info_of(r) for r in runs if not r.status.is_terminal), key=lambda i: i.name)
    if as_json:
        print_json([dataclasses.asdict(info) for info in found])
        return 0
    table = Table(title=f"{len(found)} schedule(s)", title_justify="left")
    for column in ("name", "workflow", "spec", "overlap", "next fire (UTC)", "paused"):
        table.add_column(column)
    table.add_column("last run", overflow="fold")
    for column in ("fired", "skipped", "missed", "failed"):
        table.add_column(column, justify="right")
    for info in found:
        next_fire = info.next_fire.strftime("%Y-%m-%d %H:%M:%S") if info.next_fire else "-"
        table.add_row(
            info.name,
            info.workflow,
            info.spec,
            info.overlap,
            next_fire,
            "yes" if info.paused else "no",
            info.last_run or "-",
            str(info.fired),
            str(info.skipped),
            str(info.missed),
            str(info.failed),
        )
    console.print(table)
    return 0
