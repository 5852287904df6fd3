"""`ScheduleHandle`: what `engine.schedule` and `engine.get_schedule` hand back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aion_actors.handles import RunHandle
from aion_actors.schedules.info import ScheduleInfo

if TYPE_CHECKING:
    from aion_actors.engine import Engine
    from aion_actors.schedules.part import Schedules


class ScheduleHandle:
    """A schedule by name; each verb is a recorded update of the schedule's run."""

    def __init__(self, schedules: Schedules, name: str, engine: Engine) -> None:
        self._schedules = schedules
        self._engine = engine
        self.name = name

    def describe(self) -> ScheduleInfo:
        """Its spec, next fire time, paused flag, last run and counters."""
        return self._schedules.describe(self.name)

    def pause(self) -> None:
        """Fire nothing until `unpause` (a run already started goes on)."""
        self._schedules.pause(self.name)

    def unpause(self) -> None:
        """Fire again, from the next scheduled time on: the times passed while paused are
        not fired."""
        self._schedules.unpause(self.name)

    def delete(self) -> None:
        """End the schedule (its run completes); the runs it started go on."""
        self._schedules.delete(self.name)

    def trigger_now(self) -> RunHandle:
        """Start a run now, as `<name>-<now>`, whatever the overlap rule; its handle."""
        workflow_id = self._schedules.trigger(self.name)
        return RunHandle(self._engine, workflow_id, self._engine.describe(workflow_id).run_id)

    def __repr__(self) -> str:
        return f"<ScheduleHandle {self.name!r}>"
