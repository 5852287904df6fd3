"""The runs page's filters, read from its query string: the `runs` command's filters
(status, type, attributes, started range) and a page (size and cursor)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

from aion_actors.cli._listing import attribute_filters
from aion_actors.cli._when import UsageError, parse_when
from aion_actors.core import WorkflowStatus
from aion_actors.store import RunQuery

PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 500


@dataclass(frozen=True, slots=True)
class Filters:
    """What the runs page shows: the runs `query()` matches, `limit` per page."""

    status: str = ""
    workflow_type: str = ""
    #: NAME=VALUE texts, as the `runs --attr` option takes them
    attributes: tuple[str, ...] = ()
    since: str = ""
    until: str = ""
    cursor: str = ""
    limit: int = PAGE_SIZE
    #: attribute filters as `list_runs(attributes=)` takes them
    parsed_attributes: dict[str, Any] = field(default_factory=dict)
    since_ns: int | None = None
    until_ns: int | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str], attrs: Sequence[str], now_ns: int) -> Filters:
        """The filters a query string gives; `ValueError` naming the parameter at fault."""
        status = params.get("status", "").strip()
        if status and status not in {s.value for s in WorkflowStatus}:
            known = ", ".join(s.value for s in WorkflowStatus)
            raise ValueError(f"status {status!r} is not one of: {known}")
        limit_text = params.get("limit", "").strip() or str(PAGE_SIZE)
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE_SIZE:
            raise ValueError(f"limit {limit_text!r}: give a page size from 1 to {MAX_PAGE_SIZE}")
        attributes = tuple(a.strip() for a in attrs if a.strip())
        since, until = params.get("since", "").strip(), params.get("until", "").strip()
        try:
            parsed = attribute_filters(attributes)
            since_ns = parse_when(since, "since", now_ns) if since else None
            until_ns = parse_when(until, "until", now_ns) if until else None
        except UsageError as exc:
            raise ValueError(str(exc)) from None
        filters = cls(
            status=status,
            workflow_type=params.get("type", "").strip(),
            attributes=attributes,
            since=since,
            until=until,
            cursor=params.get("cursor", "").strip(),
            limit=int(limit_text),
            parsed_attributes=parsed,
            since_ns=since_ns,
            until_ns=until_ns,
        )
        filters.query()  # a bad attribute value or cursor names itself here
        return filters

    def query(self) -> RunQuery:
        """The search of this page (`since` counts from its start, inclusive)."""
        return dataclasses.replace(
            RunQuery.of(
                status=self.status or None,
                workflow_type=self.workflow_type or None,
                attributes=self.parsed_attributes,
                limit=self.limit,
                cursor=self.cursor or None,
            ),
            started_after=None if self.since_ns is None else self.since_ns - 1,
            started_before=self.until_ns,
        )

    def link(self, **changes: str | None) -> str:
        """The query string of these filters with `changes` (None drops a parameter)."""
        values: dict[str, str | None] = {
            "status": self.status,
            "type": self.workflow_type,
            "since": self.since,
            "until": self.until,
            "limit": str(self.limit) if self.limit != PAGE_SIZE else None,
            "cursor": self.cursor,
            **changes,
        }
        pairs = [(k, v) for k, v in values.items() if v]
        pairs += [("attr", a) for a in self.attributes]
        return "?" + urlencode(pairs) if pairs else "?"

    @property
    def any(self) -> bool:
        """Whether any filter narrows the list."""
        return bool(
            self.status or self.workflow_type or self.attributes or self.since or self.until
        )
