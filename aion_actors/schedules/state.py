"""A schedule's state, as its run keeps it: which times are due, which were missed.

Pure and deterministic (it reads time only as the run hands it in), so the
run that holds it replays to the same decisions. `cursor` is the last
scheduled time already decided — fired, skipped or missed — so a time is
decided once: after a crash the run replays its history up to the last
decision and goes on from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aion_actors.schedules.spec import ScheduleSpec, datetime_of

#: a timer may wake this much before its time (float seconds); the time counts as due
_EARLY_NS = 1_000_000
#: and this much after it (its thread's scheduling, a busy engine, the commit of its
#: firing): a time so late is on time, not missed, whatever `catchup_window` (even 0)
_LATE_NS = 1_000_000_000
#: missed cron times counted one by one after a long downtime, at most
_MAX_COUNTED = 100_000


@dataclass(slots=True)
class ScheduleState:
    spec: ScheduleSpec
    #: the last scheduled time decided (unix ns); the next firing is the one after it
    cursor: int
    paused: bool = False
    #: firings that started a run, and firings skipped by the overlap rule
    fired: int = 0
    skipped: int = 0
    #: scheduled times that passed more than `catchup_window` ago (downtime, a long pause)
    missed: int = 0
    #: firings whose run could not start (its arguments no longer fit its workflow)
    failed: int = 0
    last_run: str | None = None
    #: a firing held by `overlap="buffer_one"` until the open run ends
    buffered: int | None = None
    #: times to fire now, oldest first (unix ns)
    pending: list[int] = field(default_factory=list)
    #: the open run of the last firing (a `ChildHandle`), while the overlap rule needs it
    running: Any = None
    #: an update changed something the run waits on; the updates handled (in this run)
    changed: bool = False
    updates: int = 0
    #: firings give way to management calls (the patch `loop.YIELDING`, taken once per run)
    yields: bool = False
    deleted: bool = False
    #: firings in this run of the schedule (it continues as new past a bound)
    fired_here: int = 0

    @classmethod
    def begin(cls, spec: ScheduleSpec, carried: dict[str, Any] | None, now: int) -> ScheduleState:
        """A new schedule starts deciding from `now`; a continued one from where it was."""
        if not carried:
            return cls(spec=spec, cursor=now)
        return cls(
            spec=spec,
            cursor=carried["cursor"],
            paused=carried["paused"],
            fired=carried["fired"],
            skipped=carried["skipped"],
            missed=carried["missed"],
            failed=carried.get("failed", 0),  # (a schedule continued before it was counted)
            last_run=carried["last_run"],
        )

    def carried(self) -> dict[str, Any]:
        """What the next run of the schedule goes on from (`continue_as_new`)."""
        return {
            "cursor": self.cursor,
            "paused": self.paused,
            "fired": self.fired,
            "skipped": self.skipped,
            "missed": self.missed,
            "failed": self.failed,
            "last_run": self.last_run,
        }

    def collect_due(self, now: int, *, slack: bool = True) -> None:
        """Move every scheduled time up to `now` into `pending` (inside the catch-up
        window, or with `slack` late by no more than a timer wakes late) or count it
        `missed` (older); nothing while paused."""
        if self.paused:
            return
        window = max(self.spec.catchup_ns, _LATE_NS) if slack else self.spec.catchup_ns
        spec, window_start = self.spec, now - window
        t = spec.next_after(self.cursor)
        counted = 0
        while t <= now + _EARLY_NS:
            if t < window_start:
                if spec.every_ns is not None:  # the missed ones at once, however many
                    missed = (window_start - t - 1) // spec.every_ns + 1
                    self.missed += missed
                    self.cursor = t + (missed - 1) * spec.every_ns
                    t = spec.next_after(self.cursor)
                    continue
                counted += 1
                self.missed += 1
                if counted >= _MAX_COUNTED:  # stop counting: jump to the window
                    self.cursor = window_start - 1
                    t = spec.next_after(self.cursor)
                    continue
            else:
                self.pending.append(t)
            self.cursor = t
            t = spec.next_after(t)

    def slack_decides(self, now: int) -> bool:
        """Whether `collect_due(now)` fires a time its `slack` alone makes on time: late
        by less than a timer wakes late, yet older than `catchup_window` (under 1 s)."""
        if self.paused or self.spec.catchup_ns >= _LATE_NS:
            return False
        first = self.spec.next_after(max(self.cursor, now - _LATE_NS - 1))
        return first < now - self.spec.catchup_ns

    def next_fire(self) -> int | None:
        return None if self.paused else self.spec.next_after(self.cursor)

    def attributes(self) -> dict[str, Any]:
        """The search attributes `list_schedules` and `aion-actors schedules` read."""
        next_fire = self.next_fire()
        return {
            "schedule_name": self.spec.name,
            "schedule_workflow": self.spec.workflow,
            "schedule_spec": self.spec.describe(),
            "schedule_overlap": self.spec.overlap,
            "schedule_next_fire": None if next_fire is None else datetime_of(next_fire),
            "schedule_paused": self.paused,
            "schedule_last_run": self.last_run,
            "schedule_fired": self.fired,
            "schedule_skipped": self.skipped,
            "schedule_missed": self.missed,
            "schedule_failed": self.failed,
        }


def seconds_until(when: int, now: int) -> float:
    return max(0.0, (when - now) / 1e9)
