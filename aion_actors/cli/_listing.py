"""`runs DIR`: the run index of a data directory, newest first, as plain aligned columns.

Only the run index is read (one small record per run), never a history, and
the columns are laid out by hand: a table renderer that measures every cell
took seconds per ten thousand runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from aion_actors.cli._events import STATUS_STYLES
from aion_actors.core import WorkflowStatus
from aion_actors.store import DamagedRun, RunQuery, RunSummary
from aion_actors.store._search import cursor_of

DEFAULT_LIMIT: Final = 100
_COLUMNS: Final = (
    "workflow_id",
    "type",
    "status",
    "restarts",
    "events",
    "started",
    "ended",
    "run_id",
)
_RIGHT: Final = frozenset({"restarts", "events"})
_GAP: Final = "  "


@dataclass(frozen=True)
class Selection:
    """Which runs to list: the filters of `list_runs`, then at most `limit` (0: all)
    from after `cursor`."""

    status: WorkflowStatus | None = None
    workflow_type: str | None = None
    since: int | None = None  # unix ns, started at or after
    until: int | None = None  # unix ns, started before
    limit: int = DEFAULT_LIMIT
    attributes: dict[str, Any] = field(default_factory=dict)
    cursor: str | None = None

    def query(self) -> RunQuery:
        """Every matching run from after the cursor (counted, then cut at the limit)."""
        return dataclasses.replace(
            RunQuery.of(
                status=self.status,
                workflow_type=self.workflow_type,
                attributes=self.attributes,
                cursor=self.cursor,
            ),
            started_after=None if self.since is None else self.since - 1,
            started_before=self.until,
        )

    def apply(self, runs: Sequence[RunSummary]) -> tuple[list[RunSummary], int]:
        """The runs to show (`runs` are newest first), and how many matched in all."""
        return (list(runs[: self.limit]) if self.limit else list(runs)), len(runs)


def attribute_filters(pairs: Sequence[str]) -> dict[str, Any]:
    """`--attr NAME=VALUE` options as `list_runs(attributes=...)`: VALUE is JSON if it
    reads as a number, a bool or a quoted string, else text."""
    found: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not name:
            raise ValueError(f"--attr {pair!r}: expected NAME=VALUE, e.g. customer=c-7")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        found[name] = value if isinstance(value, str | int | float | bool) else text
    return found


def more_note(shown: Sequence[RunSummary], total: int) -> str | None:
    """The line saying what the limit left out and the cursor of the next page, or None
    when nothing was."""
    if len(shown) >= total:
        return None
    return (
        f"… {total - len(shown):,} more, older runs: --limit 0 lists all, "
        f"--cursor {cursor_of(shown[-1])} the next page, --since/--until narrow by start time"
    )


def note_to_stderr(shown: Sequence[RunSummary], total: int) -> None:
    """For `--json`, whose stdout holds one document: the note goes to stderr."""
    note = more_note(shown, total)
    if note is not None:
        sys.stderr.write(note + "\n")


def print_table(
    data: Path | str,
    shown: list[RunSummary],
    total: int,
    console: Console,
    damaged: Sequence[DamagedRun] = (),
) -> None:
    """A title, a header line, a line per run, what the limit left out, damaged entries last."""
    limited = f"; the newest {len(shown):,} shown" if len(shown) < total else ""
    if damaged:
        limited += f"; {len(damaged):,} damaged index {'entry' if len(damaged) == 1 else 'entries'}"
        limited += f" last (`aion-actors doctor {data}`)"
    console.print(Text(f"{total:,} runs in {data}, newest first{limited}"), soft_wrap=True)
    rows = [_cells(run) for run in shown] + [_damaged_cells(run) for run in damaged]
    widths = {
        column: max([cell_len(column), *(cell_len(row[column][0]) for row in rows)])
        for column in _COLUMNS
    }
    text = Text()
    _append(text, {c: (c, "bold") for c in _COLUMNS}, widths)
    for row in rows:
        _append(text, row, widths)
    note = more_note(shown, total)
    if note is not None:
        text.append(note + "\n", style="dim")
    console.print(text, soft_wrap=True, end="")


def _cells(run: RunSummary) -> dict[str, tuple[str, str]]:
    """Each column's text and style."""
    return {
        "workflow_id": (run.workflow_id, ""),
        "type": (run.workflow_type, ""),
        "status": (run.status.value, STATUS_STYLES.get(run.status.value, "")),
        "restarts": (str(run.restarts), "yellow" if run.restarts else ""),
        "events": (str(run.head), ""),
        "started": (_date(run.started_at), ""),
        "ended": (_date(run.ended_at), ""),
        "run_id": (run.run_id, "dim"),
    }


def _damaged_cells(run: DamagedRun) -> dict[str, tuple[str, str]]:
    """A run whose index entry does not decode: its ids, and `damaged`."""
    cells = {column: ("?", "dim") for column in _COLUMNS}
    cells["workflow_id"] = (run.workflow_id, "")
    cells["status"] = ("damaged", "bold red")
    cells["run_id"] = (run.run_id, "dim")
    return cells


def _append(text: Text, row: dict[str, tuple[str, str]], widths: dict[str, int]) -> None:
    for index, column in enumerate(_COLUMNS):
        value, style = row[column]
        pad = " " * (widths[column] - cell_len(value))
        last = index == len(_COLUMNS) - 1
        if column in _RIGHT:
            text.append(pad)
        text.append(value, style=style)
        if column not in _RIGHT and not last:
            text.append(pad)
        text.append("\n" if last else _GAP)


def _date(ns: int | None) -> str:
    """Unix ns as local date and time to the second; "-" for a run still open."""
    if ns is None:
        return "-"
    return dt.datetime.fromtimestamp(ns / 1e9).strftime("%Y-%m-%d %H:%M:%S")
