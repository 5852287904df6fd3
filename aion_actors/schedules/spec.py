"""What a schedule is: when it fires, what it starts, and what overlap and catch-up do.

`ScheduleSpec` is checked once, when `engine.schedule` is called, and is then
a plain msgpack map (`payload()`) that the schedule's own run keeps as its
input. Its times are unix ns in UTC: `next_after(t)` is the first firing
strictly after `t` — by the cron expression read in the schedule's time zone
(`croniter`, the optional `[cron]` extra; `zoneinfo` for the zone), or every
`every` counted from the unix epoch, so `every=timedelta(minutes=5)` fires at
:00, :05, :10 whatever the moment the schedule was made.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aion_actors.core import ConfigError, check_id
from aion_actors.core.codec import packb, unpackb
from aion_actors.core.durations import LONGEST_PERIOD, LONGEST_PERIOD_TEXT

Overlap = Literal["skip", "buffer_one", "allow", "cancel_previous"]
OVERLAPS: tuple[str, ...] = ("skip", "buffer_one", "allow", "cancel_previous")
#: the built-in workflow every schedule runs as; its runs are `schedule:<name>`
SCHEDULE_WORKFLOW = "aion.schedule"
ID_PREFIX = "schedule:"
DEFAULT_CATCHUP = _dt.timedelta(minutes=1)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_NS = 1_000_000_000
_LONGEST_NS = int(LONGEST_PERIOD * _NS)


class ScheduleOptions(TypedDict, total=False):
    """The keyword options of `Engine.schedule` (see README "Schedules")."""

    #: a cron expression (5 fields, or 6 with seconds), read in `timezone`
    cron: str | None
    #: an interval (a timedelta or seconds), counted from the unix epoch
    every: _dt.timedelta | float | None
    #: an IANA zone name for `cron` (default UTC)
    timezone: str | None
    #: what a firing does while the previous run it started is still open
    overlap: Overlap
    #: how late a firing may still happen (after downtime); older ones are skipped
    catchup_window: _dt.timedelta | float


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    name: str
    workflow: str
    args: tuple[Any, ...]
    cron: str | None
    every_ns: int | None
    timezone: str
    overlap: str
    catchup_ns: int

    @classmethod
    def build(
        cls, name: str, workflow: str, args: Sequence[Any], options: ScheduleOptions
    ) -> ScheduleSpec:
        """The checked spec; a `ConfigError` names the option at fault and what to give."""
        check_id(name, "schedule name")
        unknown = set(options) - set(ScheduleOptions.__annotations__)
        if unknown:
            raise TypeError(f"unexpected schedule option(s): {', '.join(sorted(unknown))}")
        cron, every = options.get("cron"), options.get("every")
        if (cron is None) == (every is None):
            raise ConfigError(
                f"schedule {name!r}: give exactly one of cron= (e.g. '0 2 * * *') "
                "or every= (e.g. timedelta(minutes=5))"
            )
        zone = options.get("timezone")
        if zone is not None and cron is None:
            raise ConfigError(f"schedule {name!r}: timezone= applies to cron= only")
        overlap = options.get("overlap", "skip")
        if overlap not in OVERLAPS:
            raise ConfigError(
                f"schedule {name!r}: overlap must be one of {', '.join(OVERLAPS)}; got {overlap!r}"
            )
        spec = cls(
            name=name,
            workflow=workflow,
            args=tuple(args),
            cron=None if cron is None else _checked_cron(name, cron),
            every_ns=None if every is None else _ns(every, f"schedule {name!r}: every", 1),
            timezone=_checked_zone(name, zone or "UTC"),
            overlap=overlap,
            catchup_ns=_ns(
                options.get("catchup_window", DEFAULT_CATCHUP),
                f"schedule {name!r}: catchup_window",
                0,
            ),
        )
        spec.next_after(0)  # a cron that never fires (30 February) is refused here
        return spec

    @classmethod
    def of(cls, payload: dict[str, Any]) -> ScheduleSpec:
        """The spec a schedule's run was given (`payload()`)."""
        return cls(
            name=payload["name"],
            workflow=payload["workflow"],
            args=tuple(payload["args"]),
            cron=payload["cron"],
            every_ns=payload["every_ns"],
            timezone=payload["timezone"],
            overlap=payload["overlap"],
            catchup_ns=payload["catchup_ns"],
        )

    def payload(self) -> dict[str, Any]:
        """A msgpack map with explicit field names, as a stored value reads back."""
        fields = {
            "name": self.name,
            "workflow": self.workflow,
            "args": list(self.args),
            "cron": self.cron,
            "every_ns": self.every_ns,
            "timezone": self.timezone,
            "overlap": self.overlap,
            "catchup_ns": self.catchup_ns,
        }
        result: dict[str, Any] = unpackb(packb(fields))
        return result

    @property
    def workflow_id(self) -> str:
        return ID_PREFIX + self.name

    def describe(self) -> str:
        """The firing rule, as a list shows it: `cron '0 2 * * *' Europe/Berlin`, `every 300s`."""
        if self.cron is not None:
            return f"cron {self.cron!r} {self.timezone}"
        assert self.every_ns is not None
        return f"every {self.every_ns / _NS:g}s"

    def next_after(self, t_ns: int) -> int:
        """The first firing strictly after `t_ns` (unix ns, UTC)."""
        if self.every_ns is not None:
            return (t_ns // self.every_ns + 1) * self.every_ns
        assert self.cron is not None
        croniter = _croniter(self.name)
        start = _EPOCH + _dt.timedelta(microseconds=t_ns // 1000)
        local = start.astimezone(ZoneInfo(self.timezone))
        try:
            nxt = croniter(self.cron, local).get_next(_dt.datetime)
        except Exception as exc:  # croniter gives up on a rule that never matches
            raise ConfigError(
                f"schedule {self.name!r}: cron {self.cron!r} never fires ({exc})"
            ) from exc
        return ns_of(nxt)

    def firing_id(self, t_ns: int) -> str:
        """The workflow_id of the run fired for time `t_ns`: `<name>-<UTC ISO time>`."""
        return f"{self.name}-{iso(t_ns)}"


def iso(t_ns: int) -> str:
    """`2024-03-31T01:00:00Z` (with microseconds when it has some)."""
    when = _EPOCH + _dt.timedelta(microseconds=t_ns // 1000)
    return when.isoformat().replace("+00:00", "Z")


def ns_of(when: _dt.datetime) -> int:
    """An aware datetime as unix ns, exactly (to the microsecond)."""
    return ((when - _EPOCH) // _dt.timedelta(microseconds=1)) * 1000


def datetime_of(t_ns: int) -> _dt.datetime:
    return _EPOCH + _dt.timedelta(microseconds=t_ns // 1000)


def _ns(value: object, what: str, minimum: int) -> int:
    """`value` (a timedelta or seconds) in ns, from `minimum` to `LONGEST_PERIOD`: a longer
    period could not be recorded (msgpack keeps ints up to 2**64) nor waited for."""
    if isinstance(value, _dt.timedelta):
        ns = (value // _dt.timedelta(microseconds=1)) * 1000
    elif isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        # clamped first, so an infinity is out of range rather than unconvertible
        ns = int(max(-1.0, min(value, LONGEST_PERIOD + 1)) * _NS)
    else:
        raise ConfigError(f"{what} must be a timedelta or seconds, got {value!r}")
    if not minimum <= ns <= _LONGEST_NS:
        least = "> 0" if minimum else ">= 0"
        raise ConfigError(
            f"{what} must be {least} and at most {LONGEST_PERIOD_TEXT}, got {value!r}"
        )
    return ns


def _checked_cron(name: str, cron: object) -> str:
    croniter = _croniter(name)
    try:
        if not isinstance(cron, str):
            raise TypeError(f"a {type(cron).__name__}, not a str")
        croniter(cron)
    except (TypeError, ValueError, KeyError) as exc:  # croniter's errors are ValueErrors
        reason = re.sub(r"^\[.*?\]\s*(is not acceptable,?\s*)?", "", str(exc)).rstrip(".")
        raise ConfigError(
            f"schedule {name!r}: cron={cron!r} is not a cron expression"
            f"{f' ({reason})' if reason else ''}; give 5 "
            "fields (minute 0-59, hour 0-23, day of month 1-31, month 1-12, weekday 0-6 from "
            "Sunday), e.g. '0 2 * * *'"
        ) from None
    return cron


def _checked_zone(name: str, zone: object) -> str:
    try:
        if not isinstance(zone, str):
            raise ZoneInfoNotFoundError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"schedule {name!r}: timezone={zone!r} is not a known IANA zone "
            "(e.g. 'Europe/Berlin'; install tzdata where the system has none)"
        ) from None
    return zone


def _croniter(name: str) -> Any:
    try:
        from croniter import croniter
    except ImportError:
        raise ConfigError(
            f"schedule {name!r}: cron= needs croniter: pip install 'aion-actors[cron]'"
        ) from None
    return croniter
