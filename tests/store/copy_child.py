"""The engine a copy test kills: `python -m tests.store.copy_child DIR` (the ledger and
gate paths in the environment, see `copy_flows`) starts runs in every state, prints
READY once each is where the test wants it, and waits to be SIGKILLed:

- `done-1`, `done-2`, `parent-2` (and its child `child-2`) completed, `failed-1` failed;
- `timer-1` waiting on a durable timer (due `TIMER_SECONDS` after it was set);
- `signal-1`, `signal-2` waiting on signal "go";
- `parent-1` waiting on its child `child-1`, which waits on signal "go";
- `inflight-1` with its activity `stall` running (never recorded as completed here);
- the schedule `ticks` (every 2 s), and the tick runs it started.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time

from aion_actors import Engine, WorkflowFailed
from aion_actors.core import Event
from aion_actors.core import events as ev
from tests.store import copy_flows as f

TIMER_SECONDS = 8.0


def _reached(engine: Engine, workflow_id: str, kind: type[Event]) -> None:
    """Until `workflow_id`'s history holds an event of `kind` (a test helper's wait)."""
    while not any(isinstance(e, kind) for e in _history(engine, workflow_id)):
        time.sleep(0.02)


def _history(engine: Engine, workflow_id: str) -> list[Event]:
    try:
        return engine.history(workflow_id)
    except Exception:  # not started yet
        return []


def main() -> None:
    engine = Engine.open(sys.argv[1], workers=1)
    engine.register(*f.ALL)
    assert engine.start(f.done, "c-1", workflow_id="done-1").result(timeout=60) == 2
    assert engine.start(f.done, "c-2", workflow_id="done-2").result(timeout=60) == 2
    with contextlib.suppress(WorkflowFailed):
        engine.start(f.fails, workflow_id="failed-1").result(timeout=60)
    engine.start(f.parent, "child-2", False, workflow_id="parent-2").result(timeout=60)
    engine.start(f.sleeps, TIMER_SECONDS, workflow_id="timer-1")
    engine.start(f.waits, "c-1", workflow_id="signal-1")
    engine.start(f.waits, "c-2", workflow_id="signal-2")
    engine.start(f.parent, "child-1", True, workflow_id="parent-1")
    engine.schedule("ticks", f.tick, every=2)
    engine.start(f.in_flight, workflow_id="inflight-1")
    _reached(engine, "timer-1", ev.TimerStarted)
    for workflow_id in ("signal-1", "signal-2"):
        _reached(engine, workflow_id, ev.ActivityCompleted)
    _reached(engine, "child-1", ev.WorkflowStarted)
    assert f.STALLED.wait(60)
    print("READY", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
