"""What the run supervisor's hooks record: crashes, restarts, exhausted budgets.

The hooks run in the supervisor's thread: they record synchronously (a
replacement must find `RunCrashed` already in history) and hand anything
that may reach the supervisor again to another thread.
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING

from aion_actors.core import AionError, SequenceConflict
from aion_actors.core import events as ev
from aion_actors.runtime.closing import after_close, mark_closed
from aion_actors.runtime.host import Incarnation
from supervisor import ChildInfo, ExitReason, Handle

Key = tuple[str, str]
SUPERVISION_TIMEOUT = 30.0
log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from aion_actors.runtime.runs import RunManager


def run_key(info: ChildInfo) -> Key:
    """The (workflow_id, run_id) a run child was started under."""
    key: tuple[object, object] = info.key  # type: ignore[assignment]
    return str(key[0]), str(key[1])


def on_exit(
    runs: RunManager, info: ChildInfo, reason: ExitReason, exc: BaseException | None
) -> None:
    runs.evictor.exited(info.key)
    if reason.kind != "crash" or exc is None:
        return
    workflow_id, run_id = run_key(info)
    runs.counters["crashes"] += 1
    tb = "".join(traceback.format_exception(exc))
    crashed = ev.RunCrashed(pid=info.pid or 0, error=ev.error_info(exc), traceback=tb)
    record_supervision(runs, workflow_id, run_id, [crashed])
    if info.restart == "temporary":  # never restarted: the crash ends the run
        on_exhausted(runs, info, reason, exc, "fail")


def on_restart(runs: RunManager, info: ChildInfo, delay: float) -> None:
    key = run_key(info)
    runs.counters["restarts"] += 1
    runs.evictor.started()
    runs._incarnations[key] = Incarnation(
        pid=info.pid or 0, restart_attempt=info.restarts, backoff=delay
    )
    runs.registry.update(key, lambda h: h.replace(pid=info.pid, ref=None))


def on_exhausted(
    runs: RunManager, info: ChildInfo, reason: ExitReason, exc: BaseException | None, action: str
) -> None:
    workflow_id, run_id = run_key(info)
    error = (
        ev.error_info(exc) if exc is not None else {"type": "RunCrashed", "message": str(reason)}
    )
    if action == "park":
        closing: ev.Event = ev.RunParked(
            reason=f"restart intensity exhausted; last crash: {error['type']}: "
            f"{error['message']}; fix the code and call engine.resume()"
        )
    else:
        closing = ev.WorkflowFailed(error=error)
    if record_supervision(runs, workflow_id, run_id, [closing]):
        handle = mark_closed(runs, workflow_id, run_id, closing)
        # Waking waiters and the parent may start or reach other runs through
        # the supervisor, which is busy calling this hook: another thread does it.
        runs._background.submit(closed_by_supervisor, runs, workflow_id, run_id, closing, handle)


def closed_by_supervisor(
    runs: RunManager, workflow_id: str, run_id: str, closing: ev.Event, handle: Handle[Key] | None
) -> None:
    history = runs._store.read(workflow_id, run_id, 1)
    started = history[0] if history else None
    parent = started.parent if isinstance(started, ev.WorkflowStarted) else None
    after_close(runs, workflow_id, run_id, closing, parent, handle)


def record_supervision(
    runs: RunManager, workflow_id: str, run_id: str, events: list[ev.Event]
) -> bool:
    """Append what the supervisor saw, even racing the dead actor's last append."""
    for _ in range(5):
        head = runs._recorder.head(workflow_id, run_id)
        try:
            runs._recorder.append(workflow_id, run_id, events, head, SUPERVISION_TIMEOUT)
            return True
        except SequenceConflict:
            continue
        except AionError:
            log.exception("could not record %s for run %s", events[0].kind, run_id)
            return False
    return False
