"""What a schedule reports (`ScheduleInfo`), read from its run's search attributes."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from aion_actors.core import AionError
from aion_actors.schedules.spec import ID_PREFIX
from aion_actors.store import RunSummary


class ScheduleNotFound(AionError, LookupError):
    """No schedule of that name exists (or it was deleted)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"schedule {name!r} not found; list them with engine.list_schedules() "
            "or `aion-actors schedules DIR`"
        )


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """One schedule as `list_schedules` and `ScheduleHandle.describe` report it."""

    name: str
    #: the workflow each firing starts
    workflow: str
    #: its firing rule: `cron '0 2 * * *' Europe/Berlin` or `every 300s`
    spec: str
    overlap: str
    #: when it fires next (UTC); None while paused
    next_fire: _dt.datetime | None
    paused: bool
    #: the workflow_id of the last run it started, None before the first
    last_run: str | None
    #: firings that started a run; firings the overlap rule skipped; scheduled times
    #: older than the catch-up window when the schedule could fire again (not fired)
    fired: int
    skipped: int
    missed: int
    #: firings whose run could not start: its arguments do not fit its workflow (changed
    #: since the schedule was made); the TypeError is in the schedule run's history
    failed: int = 0


def info_of(run: RunSummary) -> ScheduleInfo:
    """The schedule whose run `run` is (`schedule:<name>`)."""
    a = run.attributes
    next_fire = a.get("schedule_next_fire")
    return ScheduleInfo(
        name=a.get("schedule_name", run.workflow_id.removeprefix(ID_PREFIX)),
        workflow=a.get("schedule_workflow", ""),
        spec=a.get("schedule_spec", ""),
        overlap=a.get("schedule_overlap", ""),
        next_fire=next_fire if isinstance(next_fire, _dt.datetime) else None,
        paused=bool(a.get("schedule_paused", False)),
        last_run=a.get("schedule_last_run"),
        fired=int(a.get("schedule_fired", 0)),
        skipped=int(a.get("schedule_skipped", 0)),
        missed=int(a.get("schedule_missed", 0)),
        failed=int(a.get("schedule_failed", 0)),
    )
