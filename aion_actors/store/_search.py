"""Run search, as every store answers it: the query, its order, its cursor and its page.

The contract (each store implements `EventStore.search(query)` on it):

- **Order**: newest started first; runs started in the same nanosecond by
  (workflow_id, run_id). `sort_key` is that order as a tuple compared ascending.
- **Filters** (all given ones must hold, `matches`): `status`, `workflow_type`,
  `started_after` / `started_before` (exclusive, unix ns), `closed_after` (a closed
  run whose `ended_at` is later), each given to `list_runs` as `to_ns` reads times
  (the ints of `RunSummary` exactly; a datetime of `describe()` as the microsecond it
  names, so a run's own start never lists that run), `parent` (the parent's
  workflow_id, and its run_id if given), `attributes` (each name's value, compared
  by its token, see `core/attributes.py`: a list attribute matches any of its items).
- **Pages**: at most `limit` runs (None: all), and `next_cursor` naming the last
  one when more match (None on the last page). A cursor encodes the sort key of
  the last run returned, so the next page starts strictly after it: a run started
  meanwhile sorts before it and never shifts or repeats a later page.
"""

from __future__ import annotations

import base64
import datetime as _dt
import difflib
import fractions
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict

from aion_actors.core import PayloadError, WorkflowStatus, check_id, packb, unpackb
from aion_actors.core import attributes as attrs
from aion_actors.store.protocol import RunSummary

_CURSOR_VERSION: Final = 1
SortKey = tuple[int, str, str]


class RunPage(list[RunSummary]):
    """One page of `list_runs`: the runs (a list), and `next_cursor` for the next page
    (None when this is the last)."""

    def __init__(self, runs: Iterable[RunSummary] = (), next_cursor: str | None = None) -> None:
        super().__init__(runs)
        self.next_cursor = next_cursor

    def __repr__(self) -> str:
        return f"RunPage({list.__repr__(self)}, next_cursor={self.next_cursor!r})"


class RunFilters(TypedDict, total=False):
    """The keyword arguments of `Engine.list_runs` past status and workflow_type."""

    started_after: _dt.datetime | float | None
    started_before: _dt.datetime | float | None
    closed_after: _dt.datetime | float | None
    parent: str | tuple[str, str] | None
    attributes: Mapping[str, Any] | None
    limit: int | None
    cursor: str | None


#: the keyword arguments of `list_runs` past status and workflow_type
_FILTERS: Final = tuple(RunFilters.__annotations__)


@dataclass(frozen=True, slots=True)
class RunQuery:
    """A checked search: what must hold of a run, where the page starts, how long it is."""

    status: str | None = None
    workflow_type: str | None = None
    started_after: int | None = None
    started_before: int | None = None
    closed_after: int | None = None
    parent: str | None = None
    parent_run: str | None = None
    #: (name, token) pairs, all of which must match
    attributes: tuple[tuple[str, bytes], ...] = ()
    limit: int | None = None
    #: the sort key of the last run of the previous page (from the cursor)
    after: SortKey | None = None

    @classmethod
    def asked(
        cls,
        status: WorkflowStatus | str | None,
        workflow_type: str | None,
        filters: Mapping[str, Any],
    ) -> RunQuery:
        """The query of `list_runs(status, workflow_type, **filters)`; a `TypeError` naming
        `list_runs` and its filters for a keyword it does not take."""
        if unknown := [name for name in filters if name not in _FILTERS]:
            close = difflib.get_close_matches(unknown[0], ["status", "workflow_type", *_FILTERS])
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(
                f"list_runs() got an unexpected keyword argument {unknown[0]!r}{hint}; "
                f"list_runs() takes status, workflow_type, {', '.join(_FILTERS)}"
            )
        return cls.of(status=status, workflow_type=workflow_type, **filters)

    @classmethod
    def of(
        cls,
        *,
        status: WorkflowStatus | str | None = None,
        workflow_type: str | None = None,
        started_after: _dt.datetime | float | None = None,
        started_before: _dt.datetime | float | None = None,
        closed_after: _dt.datetime | float | None = None,
        parent: str | tuple[str, str] | None = None,
        attributes: Mapping[str, Any] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RunQuery:
        """The query `list_runs` arguments ask for; `ValueError` naming a bad one."""
        parent_id, parent_run = _parent(parent)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise ValueError(f"limit must be an int >= 1 (or None for all), got {limit!r}")
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be an int >= 1 (or None for all), got {limit}")
        if workflow_type is not None and (not isinstance(workflow_type, str) or not workflow_type):
            raise ValueError(f"workflow_type must be a non-empty str, got {workflow_type!r}")
        return cls(
            status=_status(status),
            workflow_type=workflow_type,
            started_after=to_ns(started_after, "started_after", whole=True),
            started_before=to_ns(started_before, "started_before"),
            closed_after=to_ns(closed_after, "closed_after", whole=True),
            parent=parent_id,
            parent_run=parent_run,
            attributes=_attribute_filters(attributes),
            limit=limit,
            after=parse_cursor(cursor) if cursor is not None else None,
        )


def _status(status: WorkflowStatus | str | None) -> str | None:
    if status is None:
        return None
    try:
        return WorkflowStatus(status).value
    except ValueError:
        known = ", ".join(s.value for s in WorkflowStatus)
        raise ValueError(f"status {status!r} is not one of: {known}") from None


def _parent(parent: str | tuple[str, str] | None) -> tuple[str | None, str | None]:
    if parent is None:
        return None, None
    if isinstance(parent, str):
        return check_id(parent, "parent"), None
    if isinstance(parent, tuple) and len(parent) == 2:
        return check_id(parent[0], "parent workflow_id"), check_id(parent[1], "parent run_id")
    raise ValueError(f"parent must be a workflow_id or a (workflow_id, run_id), got {parent!r}")


def _attribute_filters(attributes: Mapping[str, Any] | None) -> tuple[tuple[str, bytes], ...]:
    if attributes is None:
        return ()
    if not isinstance(attributes, Mapping):
        raise ValueError(f"attributes must be a dict of name -> value, got {attributes!r}")
    found = []
    for name, value in attributes.items():
        where = f"attributes[{name!r}]"
        try:
            attrs.check_name(name, where)
            if isinstance(value, list | tuple):
                raise PayloadError(
                    where, "give one value: a list attribute matches any of its items"
                )
            attrs.check_scalar(value, where)
        except PayloadError as exc:
            raise ValueError(str(exc)) from None
        token = attrs.token(value)
        assert token is not None  # checked above
        found.append((name, token))
    return tuple(found)


#: the end of the times a search takes, in unix seconds: from 1970 to before this
#: (2**63 ns, 2262-04-11), as `to_ns` checks
LATEST: Final = 2**63 / 1e9
#: the least int `to_ns` reads as unix ns (as `RunSummary.started_at` and `ended_at` hold
#: them: any time after 1970-01-01T00:00:10); a smaller number is unix seconds
NS_FROM: Final = 10**10
_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_MICROSECOND: Final = _dt.timedelta(microseconds=1)
_RANGE: Final = (
    "unix seconds from 1970 to before 2262-04-11, or an int of unix ns from 10**10 to before 2**64"
)


def to_ns(value: _dt.datetime | float | None, what: str, *, whole: bool = False) -> int | None:
    """A time given to `list_runs`, in unix ns; `ValueError` for anything else.

    - an `int` from `NS_FROM` on: unix ns, exactly (a run's `RunSummary.started_at`);
    - an aware `datetime`: the microsecond it names (a run's `describe().started_at`
      is the one the run started in), read as its first ns, or with `whole` its last:
      "after" it means after that whole microsecond, "before" it before all of it;
    - any other number: unix seconds (a `float` only as exact as a float is);
    from 1970 to before 2262-04-11 (an int of ns: before 2**64).
    """
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{what} {value!r} has no timezone; give an aware datetime")
        micros = (value - _EPOCH) // _MICROSECOND  # exact: no float on the way
        ns = micros * 1000 + (999 if whole else 0)
        if not 0 <= ns < 2**63:
            raise ValueError(f"{what} {value!r} is out of range ({_RANGE})")
        return ns
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f"{what} must be an aware datetime, unix seconds or an int of unix ns "
            f"(as RunSummary.started_at holds), got {value!r}"
        )
    if isinstance(value, int) and NS_FROM <= value < 2**64:
        return value
    if not 0 <= value < LATEST:  # (nan too)
        raise ValueError(f"{what} {value!r} is out of range ({_RANGE})")
    return int(fractions.Fraction(value) * 1_000_000_000)  # exact: no float product


def sort_key(run: RunSummary) -> SortKey:
    return (-run.started_at, run.workflow_id, run.run_id)


def cursor_of(run: RunSummary) -> str:
    """The opaque cursor of the page that ends with `run`."""
    data = packb([_CURSOR_VERSION, run.started_at, run.workflow_id, run.run_id])
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def parse_cursor(cursor: str) -> SortKey:
    """The sort key a cursor of `cursor_of` holds; `ValueError` for anything else."""
    try:
        data = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, started_at, workflow_id, run_id = unpackb(data)
        if version != _CURSOR_VERSION or not isinstance(started_at, int):
            raise ValueError(version)
        if not isinstance(workflow_id, str) or not isinstance(run_id, str):
            raise ValueError(workflow_id)
    except Exception:  # (anything a forged or truncated cursor raises)
        raise ValueError(
            f"cursor {cursor!r:.80} is not one list_runs returned; pass a page's "
            "next_cursor as it is"
        ) from None
    return (-started_at, workflow_id, run_id)


def matches(query: RunQuery, run: RunSummary) -> bool:
    """Whether `run` is one `query` asks for (its cursor position included)."""
    if query.status is not None and run.status.value != query.status:
        return False
    if query.workflow_type is not None and run.workflow_type != query.workflow_type:
        return False
    if query.started_after is not None and run.started_at <= query.started_after:
        return False
    if query.started_before is not None and run.started_at >= query.started_before:
        return False
    if query.closed_after is not None and (
        run.ended_at is None or run.ended_at <= query.closed_after
    ):
        return False
    if query.parent is not None:
        parent = run.parent or {}
        if parent.get("workflow_id") != query.parent:
            return False
        if query.parent_run is not None and parent.get("run_id") != query.parent_run:
            return False
    for name, token in query.attributes:
        if name not in run.attributes or token not in attrs.tokens(run.attributes[name]):
            return False
    return query.after is None or sort_key(run) > query.after


def page(query: RunQuery, ordered: Iterable[RunSummary]) -> RunPage:
    """The page of `query` from runs in search order (filtered here, read lazily)."""
    found: list[RunSummary] = []
    for run in ordered:
        if matches(query, run):
            if query.limit is not None and len(found) == query.limit:
                return RunPage(found, cursor_of(found[-1]))
            found.append(run)
    return RunPage(found)
