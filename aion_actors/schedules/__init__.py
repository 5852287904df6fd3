"""Durable schedules: cron (with a time zone) or an interval, each a run of its own.

See `loop.py` for how a schedule keeps its promises across kills and
downtime, `spec.py` for the firing rules, and README "Schedules".
"""

from aion_actors.schedules.handle import ScheduleHandle
from aion_actors.schedules.info import ScheduleInfo, ScheduleNotFound
from aion_actors.schedules.spec import SCHEDULE_WORKFLOW, ScheduleOptions

__all__ = [
    "SCHEDULE_WORKFLOW",
    "ScheduleHandle",
    "ScheduleInfo",
    "ScheduleNotFound",
    "ScheduleOptions",
]
