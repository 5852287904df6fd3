"""What each dashboard page shows, gathered from a `Source` as plain values for its
template: nothing here writes, and nothing here knows about HTTP."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from aion_actors.cli._events import STYLES, short, summary
from aion_actors.cli.inspection import pending
from aion_actors.core import Event, WorkflowNotFound, WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.store import RunSummary
from aion_actors.store.postgres.nodeview import ownership_of
from aion_actors.web.filters import Filters
from aion_actors.web.source import Source
from aion_actors.web.timeline import timeline

#: open runs the engine page describes one by one (each reads its history)
MAX_OPEN_DESCRIBED: Final = 100


def when(ns: int | None) -> str:
    """Unix ns as local date and time to the second; "-" for none."""
    if ns is None:
        return "-"
    return dt.datetime.fromtimestamp(ns / 1e9).strftime("%Y-%m-%d %H:%M:%S")


def status_counts(runs: Iterable[RunSummary]) -> list[tuple[str, int]]:
    """How many runs each status has, in `WorkflowStatus` order, only those with some."""
    counts = Counter(run.status.value for run in runs)
    return [(s.value, counts[s.value]) for s in WorkflowStatus if counts[s.value]]


def runs_page(source: Source, filters: Filters) -> dict[str, Any]:
    everything = source.store.runs()
    found = source.store.search(filters.query())
    return {
        "counts": status_counts(everything),
        "total": len(everything),
        "types": sorted({run.workflow_type for run in everything}),
        "statuses": [s.value for s in WorkflowStatus],
        "runs": list(found),
        "next_cursor": found.next_cursor,
        "filters": filters,
    }


@dataclass(frozen=True, slots=True)
class Row:
    """One event as the run page lists it."""

    seq: int
    time: str
    kind: str
    summary: str
    style: str


def _row(event: Event) -> Row:
    time = dt.datetime.fromtimestamp(event.recorded_at / 1e9).strftime("%H:%M:%S.%f")[:-3]
    style = STYLES.get(event.kind, "").replace("bold ", "")
    return Row(event.seq, time, event.kind, summary(event), style)


def stage(run: RunSummary, events: list[Event]) -> tuple[str, list[str]]:
    """Where the run stands, in a headline and details: its outcome when closed, the
    park reason when parked, else what it waits for."""
    if run.status is WorkflowStatus.PARKED:
        parked = [e for e in events if isinstance(e, ev.RunParked)]
        return "parked: waits for an operator to resume it", [p.reason for p in parked[-1:]]
    if run.status.is_terminal:
        closing = events[-1] if events else None
        return run.status.value, [summary(closing)] if closing is not None else []
    waits = pending(events)
    if not waits:
        return "running: working (nothing awaited is recorded yet)", []
    return "running: waits for", waits


def run_page(source: Source, workflow_id: str, run_id: str | None, now: int) -> dict[str, Any]:
    store = source.store
    run = store.get_run(workflow_id, run_id) if run_id else store.latest_run(workflow_id)
    if run is None:
        raise WorkflowNotFound(workflow_id, run_id)
    events = store.read(workflow_id, run.run_id)
    started = events[0] if events and isinstance(events[0], ev.WorkflowStarted) else None
    following = next((e for e in events if isinstance(e, ev.WorkflowContinuedAsNew)), None)
    reset = next((e for e in events if isinstance(e, ev.WorkflowReset)), None)
    headline, details = stage(run, events)
    return {
        "run": run,
        "events": [_row(e) for e in events],
        "timeline": timeline(events, run.status.value, now),
        "stage": headline,
        "stage_details": details,
        "live": source.live(workflow_id, run.run_id),
        "engine_backed": source.engine_backed,
        "parent": run.parent,
        "input": short(started.input, 200) if started else "",
        "memo": started.memo if started else None,
        "owned": ownership_of(store, workflow_id),
        "next_run": following.next_run_id if following else (reset.next_run_id if reset else None),
        "previous_run": (started.reset_from or {}).get("run_id") if started else None,
    }


@dataclass(frozen=True, slots=True)
class TypeHealth:
    """Supervision figures of one workflow type, from its runs' summaries."""

    workflow_type: str
    runs: int
    open: int
    parked: int
    restarts: int
    restarted_runs: int
    failed: int

    @property
    def restarts_per_100_runs(self) -> float:
        return round(100 * self.restarts / self.runs, 1) if self.runs else 0.0


def type_health(runs: Iterable[RunSummary]) -> list[TypeHealth]:
    """Per workflow type, busiest restarter first."""
    by_type: dict[str, list[RunSummary]] = {}
    for run in runs:
        by_type.setdefault(run.workflow_type, []).append(run)
    found = [
        TypeHealth(
            workflow_type=name,
            runs=len(group),
            open=sum(not r.status.is_terminal for r in group),
            parked=sum(r.status is WorkflowStatus.PARKED for r in group),
            restarts=sum(r.restarts for r in group),
            restarted_runs=sum(r.restarts > 0 for r in group),
            failed=sum(r.status is WorkflowStatus.FAILED for r in group),
        )
        for name, group in by_type.items()
    ]
    return sorted(found, key=lambda t: (-t.restarts, -t.parked, t.workflow_type))


def supervision_page(source: Source) -> dict[str, Any]:
    everything = source.store.runs()
    parked = [r for r in everything if r.status is WorkflowStatus.PARKED]
    reasons = {}
    for run in parked:
        last = source.store.read(run.workflow_id, run.run_id, run.head)
        reasons[run.run_id] = last[-1].reason if last and isinstance(last[-1], ev.RunParked) else ""
    restarted = sorted((r for r in everything if r.restarts), key=lambda r: -r.restarts)
    return {
        "types": type_health(everything),
        "parked": parked,
        "reasons": reasons,
        "restarted": restarted[:50],
        "total_restarts": sum(r.restarts for r in everything),
    }


def engine_page(source: Source) -> dict[str, Any]:
    open_runs = source.store.open_runs()
    described = [
        (run, source.live(run.workflow_id, run.run_id)) for run in open_runs[:MAX_OPEN_DESCRIBED]
    ]
    return {
        "stats": source.stats(),
        "open_runs": described,
        "open_total": len(open_runs),
        "engine_backed": source.engine_backed,
    }
