"""Replay recorded histories against the current workflow code, running nothing.

Each run's history is fed whole to a `Machine` (the engine's replay driver),
which records nothing and acts on nothing: no activity runs, no timer is
armed, nothing is written. The code must ask again, in order, for every
command the history recorded (activities, timers, timed waits, children,
requests to other workflows). A run closed by its own code (completed,
failed, cancelled, continued as new) must also end the same way, and issue
nothing past its recorded end. A run still open, or terminated or timed out
from outside, may issue its next commands past the end of its history: its
last events may not have been answered yet when the history was read.

Verdicts: `ok`; `diverged` with the first divergence (the seq of the
recorded event, what history recorded, what the code asked for); `failed`
when the code cannot replay the run at all: it cannot be called with the
run's recorded input (a new parameter without a default), it raises while
replaying (it would crash the run), it fails a run its code had not closed
(open, or closed from outside: the run would fail where it went on), or a
recorded payload no longer decodes (`detail` names the payload: `result of
activity 'price': cannot be decoded as Quote ...`); `skipped` when no
workflow of the run's type was given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from aion_actors.core import (
    MAX_PAYLOAD_BYTES,
    UNRECORDABLE,
    Event,
    NonDeterminismError,
    PayloadConverter,
)
from aion_actors.core import events as ev
from aion_actors.core import payloads as conv
from aion_actors.runtime.arity import misfit
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.machine import Machine
from aion_actors.runtime.mismatch import ReplayMismatch
from aion_actors.runtime.recorded import recorded_command
from aion_actors.testing.histories import History, HistoryFileError, read_history_file
from aion_actors.testing.verdicts import (
    PATCH_HINT,
    ReplayDiverged,
    ReplayReport,
    RunReplay,
    Verdict,
    patch_hint,
    unknown_types_hint,
)

__all__ = [
    "PATCH_HINT",
    "Histories",
    "HistoryLike",
    "ReplayDiverged",
    "ReplayReport",
    "RunReplay",
    "Verdict",
    "as_history",
    "patch_hint",
    "replay",
    "replay_each",
    "replay_run",
    "unknown_types_hint",
]

#: what `replay` accepts for one history: a `History`, a run's events, or an exported file
HistoryLike = History | Sequence[Event] | Path | str
#: what `replay` accepts: histories, or histories by the workflow_id of their run
Histories = Iterable[HistoryLike] | Mapping[str, HistoryLike]
#: closings the workflow code itself decides: replay must reach the same one
_CLOSED_BY_CODE = (
    ev.WorkflowCompleted,
    ev.WorkflowFailed,
    ev.WorkflowCancelled,
    ev.WorkflowContinuedAsNew,
)


def replay(
    histories: Histories,
    workflows: Iterable[Any],
    *,
    converter: conv.ConverterSpec = None,
    max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    allow_unknown_types: bool = False,
) -> ReplayReport:
    """Replay each history against `workflows` (their `@workflow` definitions; anything
    else in the iterable, such as activities, is ignored) and report each run's verdict.

    `histories` is an iterable of histories (exported files, `History` values, a run's
    events), or a mapping of workflow_id to one: a run's events alone do not hold its
    workflow_id, so give it when the code reads `ctx.workflow_id`.

    A run whose type is not among `workflows` is `skipped` if it is closed; if it is
    open it is `failed` (deployed, the code would leave it parked), unless
    `allow_unknown_types`."""
    verdicts = replay_each(
        histories,
        workflows,
        converter=converter,
        max_payload_bytes=max_payload_bytes,
        allow_unknown_types=allow_unknown_types,
    )
    return ReplayReport(tuple(verdicts))


def replay_each(
    histories: Histories,
    workflows: Iterable[Any],
    *,
    converter: conv.ConverterSpec = None,
    max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    allow_unknown_types: bool = False,
) -> Iterator[RunReplay]:
    """`replay`, one verdict at a time, reading each history only when it comes."""
    by_type = {w.name: w for w in workflows if isinstance(w, WorkflowDefinition)}
    active = conv.active(conv.resolve(converter)[0])
    for index, item in enumerate(_items(histories)):
        try:
            history = as_history(item, index)
        except HistoryFileError as exc:  # this file alone: the others are still replayed
            yield RunReplay("", "", "", "failed", detail=exc.problem, source=exc.path)
            continue
        definition = by_type.get(history.workflow_type)
        if definition is None:
            yield _unknown(history, allow=allow_unknown_types)
            continue
        yield replay_run(history, definition, converter=active, max_payload_bytes=max_payload_bytes)


def _unknown(history: History, *, allow: bool) -> RunReplay:
    """The verdict on a run whose type the app lacks: an open run would be stranded."""
    detail = f"type {history.workflow_type} not in the app"
    if history.closing is not None or allow:
        return _verdict(history, "skipped", detail=detail, unknown_type=True)
    detail += ", and this run is open: deployed, the code would leave it parked"
    return _verdict(history, "failed", detail=detail, unknown_type=True)


def _items(histories: Histories) -> Iterator[HistoryLike]:
    if not isinstance(histories, Mapping):
        yield from histories
        return
    for workflow_id, item in histories.items():
        try:
            history = as_history(item, source=str(workflow_id))
        except HistoryFileError:
            yield item  # its own verdict, below
            continue
        yield dataclasses.replace(history, workflow_id=workflow_id, invented_id=False)


def as_history(item: HistoryLike, index: int = 0, *, source: str = "") -> History:
    """A `History` from what `replay` accepts."""
    if isinstance(item, History):
        return item
    if isinstance(item, (str, Path)):
        return read_history_file(item)
    return History.of(item, source=source or f"histories[{index}]")


def replay_run(
    history: History,
    definition: WorkflowDefinition,
    *,
    converter: PayloadConverter | None = None,
    max_payload_bytes: int = MAX_PAYLOAD_BYTES,
) -> RunReplay:
    """Replay one history against `definition`, without recording or running anything."""
    verdict = _replay_run(history, definition, converter, max_payload_bytes)
    made_up = history.workflow_id
    seen = (verdict.recorded or "", verdict.requested or "", verdict.detail)
    if history.invented_id and any(made_up in text for text in seen):
        note = (
            "this history came as a run's events alone, which hold no workflow_id: the "
            f"code saw ctx.workflow_id {made_up!r}; give the run's id with "
            "History.of(events, workflow_id=...) or replay({workflow_id: events}, ...)"
        )
        detail = f"{verdict.detail}; {note}" if verdict.detail else note
        return dataclasses.replace(verdict, detail=detail)
    return verdict


def _replay_run(
    history: History,
    definition: WorkflowDefinition,
    converter: PayloadConverter | None,
    max_payload_bytes: int,
) -> RunReplay:
    events = history.events
    recorded = [c for e in events if (c := recorded_command(e)) is not None]
    try:  # the coroutine is made here: a run's input that no longer fits raises
        machine = Machine(
            definition,
            history.workflow_id,
            history.run_id,
            events,
            max_payload_bytes=max_payload_bytes,
            converter=converter,
            rebuilt=True,  # as the engine rebuilds a run from history after a deploy
        )
    except ReplayMismatch as exc:
        return _verdict(history, "failed", detail=str(exc))
    except Exception as exc:
        return _verdict(history, "failed", detail=_unstartable(definition, events[0], exc))
    try:
        out = machine.advance()
    except ReplayMismatch as exc:  # history the code cannot take: deployed, the run parks
        return _verdict(history, "failed", detail=str(exc))
    except NonDeterminismError as exc:
        found = {"seq": exc.seq, "recorded": exc.recorded, "requested": exc.requested}
        return _verdict(history, "diverged", patch=exc.patch, **found)
    except Exception as exc:  # the code raises where the recorded run went on
        return _verdict(history, "failed", detail=f"the code raised {type(exc).__name__}: {exc}")
    closing = history.closing
    ended = out[-1] if machine.finished and out else None
    failing_next = isinstance(events[-1], _FAILED_OUTCOMES) and machine.issued == len(recorded)
    if isinstance(ended, ev.WorkflowFailed) and _fails_anew(ended, closing) and not failing_next:
        detail = f"replaying its history, the code fails the run{_why(ended)}"
        return _verdict(history, "failed", detail=detail)
    # how many commands the code asked for, each matched against history in order
    issued = machine.issued
    if issued < len(recorded):
        missing = recorded[issued]
        doing = (
            f"ended the run{_why(ended)}"
            if ended is not None
            else "waits on something that records nothing"
        )
        return _verdict(
            history,
            "diverged",
            seq=missing.seq,
            recorded=missing.describe(),
            requested=f"nothing more (the code {doing})",
        )
    if not isinstance(closing, _CLOSED_BY_CODE):
        return _verdict(history, "ok")  # open, or closed from outside: later commands may come
    end = f"the run's end ({closing.kind})"
    new = [command for e in out if (command := recorded_command(e)) is not None]
    if new:
        return _verdict(
            history, "diverged", seq=closing.seq, recorded=end, requested=new[0].describe()
        )
    if not machine.finished:
        requested = "nothing more (the code still waits)"
        return _verdict(history, "diverged", seq=closing.seq, recorded=end, requested=requested)
    assert ended is not None
    if ended.kind != closing.kind:
        requested = f"the run's end ({ended.kind}{_why(ended)})"
        return _verdict(history, "diverged", seq=closing.seq, recorded=end, requested=requested)
    return _verdict(history, "ok")


def _unstartable(definition: WorkflowDefinition, started: Event, exc: Exception) -> str:
    """Why the code could not even begin the run whose first event is `started`."""
    raised = f"{type(exc).__name__}: {exc}"
    args = started.input if isinstance(started, ev.WorkflowStarted) else ()
    if isinstance(exc, TypeError) and misfit(definition, args) is not None:
        count = f"{len(args)} argument{'' if len(args) == 1 else 's'}"
        return (
            f"workflow {definition.name!r} cannot be called with the run's input ({count}): "
            f"{raised}; runs started before the change replay with the input they were "
            "given — give a new parameter a default (keep a removed one, unused)"
        )
    return f"the code raised {raised} before its first step"


#: a failure the code meets last in a history taken before its reaction was recorded
#: (the run's `WorkflowFailed` commits after it): failing there is the run's next step
_FAILED_OUTCOMES = (ev.ActivityFailed, ev.ChildFailed)


def _fails_anew(failed: ev.WorkflowFailed, closing: Event | None) -> bool:
    """Whether the code failing the run is a failure to report, not a closing to compare:
    in a run its code did not close (open, or closed from outside) the run would fail
    where it went on; anywhere, a recorded payload that no longer decodes."""
    if isinstance(closing, ev.WorkflowFailed):
        return False  # it failed then too: the kinds compare equal below
    return not isinstance(closing, _CLOSED_BY_CODE) or failed.error.get("type") == UNRECORDABLE


def _why(event: Event | None) -> str:
    if isinstance(event, ev.WorkflowFailed):
        return f": {event.error.get('type', 'Error')}: {event.error.get('message', '')}"
    return ""


def _verdict(history: History, verdict: Verdict, **found: Any) -> RunReplay:
    return RunReplay(
        history.workflow_id,
        history.run_id,
        history.workflow_type,
        verdict,
        source=history.source,
        **found,
    )
