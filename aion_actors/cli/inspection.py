"""`runs`, `history`, `describe`: reading a data directory (or a `postgresql://` URL)
without owning it.

They open the store read-only, so they take no lock and work while an
engine in another process owns the directory; what they show is the
durable truth (the histories and their projections), not the engine's
in-memory view, so pids and residency are not shown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from aion_actors.cli._events import (
    STATUS_STYLES,
    STYLES,
    clock,
    event_dict,
    iso,
    json_default,
    run_dict,
    short,
    summary,
)
from aion_actors.cli._listing import Selection, note_to_stderr, print_table
from aion_actors.core import Event, TimerId, TimerKind, WorkflowNotFound
from aion_actors.core import events as ev
from aion_actors.store import EventStore, LmdbStore, RunSummary
from aion_actors.store.postgres import is_url
from aion_actors.store.postgres.nodeview import ownership_of
from aion_actors.testing.histories import History, history_document


def store_arg(text: str) -> Path | str:
    """A command's store argument: a `postgresql://` URL stays a string, anything else is a
    data directory."""
    return text if is_url(text) else Path(text)


def open_readonly(data: Path | str) -> EventStore:
    """The store `data` names, opened read-only: no lock taken, nothing created."""
    if isinstance(data, str):
        from aion_actors.store.postgres import PostgresStore

        return PostgresStore(data, readonly=True, retry_for=5.0, pool_size=1)
    return LmdbStore(data, readonly=True)


def print_json(doc: Any) -> None:
    """One JSON document on stdout."""
    json.dump(doc, sys.stdout, indent=2, default=json_default, ensure_ascii=False)
    sys.stdout.write("\n")


def runs(data: Path | str, console: Console, selection: Selection, *, as_json: bool = False) -> int:
    """The runs `selection` picks from the run index, newest first (no history is read);
    index entries that do not decode are listed last as `damaged`."""
    with open_readonly(data) as store:
        found = store.search(selection.query())
        # the store logged each to stderr when it skipped it
        damaged = store.damaged_runs() if isinstance(store, LmdbStore) else []
        where = getattr(store, "path", data)
    shown, total = selection.apply(found)
    if as_json:
        print_json([run_dict(r) for r in shown])
        note_to_stderr(shown, total)
        return 0
    print_table(where, shown, total, console, damaged)
    return 0


def history(
    data: Path | str,
    workflow_id: str,
    console: Console,
    *,
    run_id: str | None = None,
    as_json: bool = False,
) -> int:
    with open_readonly(data) as store:
        run = _run(store, workflow_id, run_id)
        events = store.read(workflow_id, run.run_id)
    if as_json:  # the file `replay --from-files` reads back: lossless, see testing.histories
        exported = History(
            workflow_id, run.run_id, run.workflow_type, tuple(events), status=run.status.value
        )
        print_json(history_document(exported))
        return 0
    table = Table(
        title=escape(
            f"{workflow_id} · run {run.run_id} · {run.workflow_type} · {run.status.value}"
        ),
        title_justify="left",
    )
    table.add_column("seq", justify="right")
    table.add_column("time")
    table.add_column("kind")
    table.add_column("summary", overflow="fold")
    for event in events:
        style = STYLES.get(event.kind, "")
        table.add_row(
            str(event.seq),
            clock(event.recorded_at),
            Text(event.kind, style=style),
            Text(summary(event), style=style if event.kind.startswith("Run") else ""),
        )
    console.print(table)
    return 0


def describe(data: Path | str, workflow_id: str, console: Console, *, as_json: bool = False) -> int:
    with open_readonly(data) as store:
        run = _run(store, workflow_id, None)
        events = store.read(workflow_id, run.run_id)
        owned = ownership_of(store, workflow_id)
    doc = {
        **run_dict(run),
        "crashes": sum(isinstance(e, ev.RunCrashed) for e in events),
        "pending": [] if run.status.is_terminal else pending(events),
        "timeout_at": iso(_timeout_at(events)),
        "outcome": _outcome(events),
        "patches": [e.patch_id for e in events if isinstance(e, ev.PatchApplied)],
        "memo": events[0].memo if events and isinstance(events[0], ev.WorkflowStarted) else None,
        "partition": owned.partition if owned else None,
        "owner": owned.owner if owned else None,
    }
    if as_json:
        print_json(doc)
        return 0
    table = Table(show_header=False, title=escape(workflow_id), title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in doc.items():
        if key == "status":
            cell = Text(str(value), style=STATUS_STYLES.get(str(value), ""))
        elif key == "pending":
            cell = Text("\n".join(value) or "nothing")
        elif isinstance(value, (dict, list)):
            cell = Text(short(value, 200))
        else:
            cell = Text("-" if value is None else str(value))
        table.add_row(key, cell)
    console.print(table)
    return 0


def pending(events: list[Event]) -> list[str]:
    """What an open run waits for, as far as its history tells."""
    waiting: dict[str, str] = {}
    for event in events:
        match event:
            case ev.ActivityScheduled():
                waiting[f"a:{event.activity_id}"] = (
                    f"activity #{event.activity_id} {event.name} (attempt {event.attempt})"
                )
            case ev.ActivityAttemptFailed() if event.retry_at is not None:
                waiting[f"a:{event.activity_id}"] = (
                    f"activity #{event.activity_id} retry at {clock(event.retry_at)}"
                )
            case ev.ActivityHandedOff():
                until = f", times out at {clock(event.timeout_at)}" if event.timeout_at else ""
                waiting[f"a:{event.activity_id}"] = (
                    f"activity #{event.activity_id} attempt {event.attempt}: "
                    f"engine.complete_activity (handed off{until})"
                )
            case ev.ActivityCompleted() | ev.ActivityFailed():
                waiting.pop(f"a:{event.activity_id}", None)
            case ev.TimerStarted():
                waiting[f"t:{event.timer_id}"] = _timer(event.timer_id, event.fire_at)
            case ev.TimerFired() | ev.TimerCancelled():
                waiting.pop(f"t:{event.timer_id}", None)
            case ev.ChildStarted():
                waiting[f"c:{event.child_workflow_id}"] = (
                    f"child {event.workflow_type} {event.child_workflow_id}"
                )
            case ev.ChildCompleted() | ev.ChildFailed():
                waiting.pop(f"c:{event.child_workflow_id}", None)
            case ev.ExternalRequested():
                waiting[f"x:{event.request_id}"] = (
                    f"{event.action} of {event.target_workflow_id} to be recorded"
                )
            case ev.ExternalRequestDone():
                waiting.pop(f"x:{event.request_id}", None)
    return list(waiting.values())


def _timer(timer_id: str, fire_at: int) -> str:
    timer = TimerId.parse(timer_id)
    if timer.kind is TimerKind.SIGNAL:
        return f"signal {timer.name!r} (times out at {clock(fire_at)})"
    return f"timer {timer_id} until {clock(fire_at)}"


def _timeout_at(events: list[Event]) -> int | None:
    """When the run times out (its execution or run timeout, the earlier), if ever."""
    started = events[0] if events else None
    if not isinstance(started, ev.WorkflowStarted):
        return None
    deadlines = (started.execution_deadline, started.run_deadline)
    return min((d for d in deadlines if d is not None), default=None)


def _outcome(events: list[Event]) -> dict[str, Any] | None:
    for event in reversed(events):
        if event.lifecycle and not isinstance(event, ev.HOLDS_OPEN):
            fields = event_dict(event)
            return {k: v for k, v in fields.items() if k not in ("seq", "recorded_at")}
    return None


def _run(store: EventStore, workflow_id: str, run_id: str | None) -> RunSummary:
    run = store.get_run(workflow_id, run_id) if run_id else store.latest_run(workflow_id)
    if run is None:
        raise WorkflowNotFound(workflow_id, run_id)
    return run
