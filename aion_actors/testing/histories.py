"""A run's history as a value, and as the JSON file `aion-actors history --json` writes.

The file is one JSON document, `{"format": "aion-actors/history", "version": 1,
"workflow_id", "run_id", "workflow_type", "status", "events": [...]}`; each
event is an object with every field of its kind spelled out (`kind`, `seq`,
`recorded_at` in unix ns, the kind's own fields) plus `time`, its ISO 8601
rendering, ignored on reading. Payload values use the lossless encoding of
`aion_actors.core.json_values` (bytes, datetimes, UUIDs, non-finite floats
and maps with non-string keys as one-key `$`-tagged objects), so a file read
back holds exactly the events the store held: they are rebuilt through the
store's own codec, which checks every field as it checks a stored event.
JSON rather than the store's msgpack so a project can keep sample histories
in its repository and read their diffs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aion_actors.core import (
    SCHEMA_VERSION,
    ConfigError,
    CorruptEvent,
    Event,
    decode_event,
    packb,
)
from aion_actors.core import events as ev
from aion_actors.core.json_values import from_json, to_json

FORMAT: Final = "aion-actors/history"
FORMAT_VERSION: Final = 1
#: how a file that is not what the store held is remedied
EXPORT: Final = "export it again with `aion-actors history DIR WORKFLOW_ID --json > FILE`"


class HistoryFileError(ConfigError):
    """An exported history file that cannot be read back: `path` names it, `problem`
    says what is wrong (and where in it) and what to do."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"history file {path}: {problem}")


@dataclass(frozen=True)
class History:
    """One run's events, with the ids the run had (workflow code may read them)."""

    workflow_id: str
    run_id: str
    workflow_type: str
    events: tuple[Event, ...]
    #: the status the store projected, when the history came from a store or a file
    status: str | None = None
    #: where it came from (a file, a data directory), for messages
    source: str = ""
    #: True when `workflow_id` is made up (`replay-<run_id>`): the events came without
    #: it, and none of them holds it
    invented_id: bool = False

    @classmethod
    def of(cls, events: Iterable[Event], *, workflow_id: str = "", source: str = "") -> History:
        """A history from its events alone; they must begin with `WorkflowStarted`.

        No event holds the run's workflow_id: without `workflow_id` it is made up as
        `replay-<run_id>` (`invented_id`), and code that reads `ctx.workflow_id` sees that.
        """
        events = tuple(events)
        started = events[0] if events else None
        if not isinstance(started, ev.WorkflowStarted):
            first = started.kind if started else "nothing"
            raise ConfigError(
                f"history {source or workflow_id or '(unnamed)'} begins with {first}, not "
                "WorkflowStarted: pass a run's whole history, from its first event"
            )
        return cls(
            workflow_id or f"replay-{started.run_id}",
            started.run_id,
            started.workflow_type,
            events,
            source=source,
            invented_id=not workflow_id,
        )

    @property
    def closing(self) -> Event | None:
        """The event that closed the run, if it is closed."""
        for event in reversed(self.events):
            if event.lifecycle and not isinstance(event, (*ev.HOLDS_OPEN, ev.RunParked)):
                return event
        return None


def event_json(event: Event) -> dict[str, Any]:
    """Every field of `event`, JSON-ready and lossless, plus its kind and an ISO time."""
    fields = {f.name: to_json(getattr(event, f.name)) for f in dataclasses.fields(event)}
    return {"kind": event.kind, "time": _iso(event.recorded_at), **fields}


def history_document(history: History) -> dict[str, Any]:
    """The JSON document `read_history_file` reads back."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "workflow_id": history.workflow_id,
        "run_id": history.run_id,
        "workflow_type": history.workflow_type,
        "status": history.status,
        "events": [event_json(e) for e in history.events],
    }


def write_history_file(history: History, path: str | os.PathLike[str]) -> None:
    """Write `history` as an exported history file at `path` (a str or a path-like)."""
    text = json.dumps(history_document(history), indent=2, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")


def read_history_file(path: str | os.PathLike[str]) -> History:
    """The history an exported file holds; anything malformed is a `HistoryFileError`
    (a `ConfigError`) naming the file, the event and what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HistoryFileError(str(path), f"cannot read it ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise HistoryFileError(str(path), f"cannot read it as JSON ({exc}); {EXPORT}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryFileError(str(path), f"cannot read it as JSON ({exc}); {EXPORT}") from exc
    return history_from_document(doc, str(path))


def history_from_document(doc: Any, source: str) -> History:
    """The history a parsed document holds (see `history_document`): the events the
    store held, numbered 1, 2, 3... from the run's `WorkflowStarted`."""
    if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
        raise HistoryFileError(
            source,
            f'not an exported history (no "format": "{FORMAT}"); write one with '
            "`aion-actors history DIR WORKFLOW_ID --json > FILE`",
        )
    if doc.get("version") != FORMAT_VERSION:
        raise HistoryFileError(
            source,
            f"format version {doc.get('version')!r}, this aion-actors reads version "
            f"{FORMAT_VERSION}; {EXPORT} using this aion-actors",
        )
    records = doc.get("events")
    if not isinstance(records, list):
        raise HistoryFileError(source, f'"events" is not a list; {EXPORT}')
    events = tuple(_event(record, index, source) for index, record in enumerate(records))
    _check_start(doc, events, source)
    history = History.of(events, workflow_id=str(doc.get("workflow_id") or ""), source=source)
    status = doc.get("status")
    return dataclasses.replace(history, status=status if isinstance(status, str) else None)


def _event(record: Any, index: int, source: str) -> Event:
    where = f"events[{index}]"
    if not isinstance(record, Mapping) or not isinstance(record.get("kind"), str):
        raise HistoryFileError(source, f'{where} is not an event object with a "kind"; {EXPORT}')
    try:
        fields = {k: from_json(v, f"{record['kind']}.{k}") for k, v in record.items()}
    except ValueError as exc:
        raise HistoryFileError(source, f"{where}: {exc}; {EXPORT}") from exc
    fields.pop("time", None)
    if fields.get("seq") != index + 1 and isinstance(fields.get("seq"), int):
        raise HistoryFileError(
            source,
            f"{where} has seq {fields['seq']}, expected {index + 1}: a run's events are "
            "numbered 1, 2, 3... without gaps or repeats, so the file was edited or cut; " + EXPORT,
        )
    try:  # through the store's own decoder: the same checks as a stored event gets
        return decode_event(packb({"v": SCHEMA_VERSION, **fields}))
    except CorruptEvent as exc:
        raise HistoryFileError(source, f"{where}: {exc.problem}; {EXPORT}") from exc


def _check_start(doc: Mapping[str, Any], events: tuple[Event, ...], source: str) -> None:
    """The run begins with its `WorkflowStarted`, whose ids the document's header repeats."""
    started = events[0] if events else None
    if not isinstance(started, ev.WorkflowStarted):
        first = started.kind if started else "nothing"
        raise HistoryFileError(
            source,
            f"begins with {first}, not WorkflowStarted: a run's whole history, from its "
            f"first event, is needed; {EXPORT}",
        )
    for field in ("run_id", "workflow_type"):
        said, holds = doc.get(field), getattr(started, field)
        if said is not None and said != holds:
            raise HistoryFileError(
                source,
                f"the document says {field} {said!r}, but its WorkflowStarted says "
                f"{holds!r}; {EXPORT}",
            )


def _iso(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).isoformat(timespec="milliseconds")
