"""An engine process that runs programs to the end: `python -m tests.reliability.driver WORKDIR`.

`WORKDIR/spec.json` maps each workflow_id to `[program, initial value]`.
The driver opens `WORKDIR/data` with a tiny residency budget (so runs are
evicted and rehydrated all the time), starts every run the store does not
know yet, sends each signal a run waits for and has not received (as the
store says: a driver restarted after a kill never sends one twice), and
writes `WORKDIR/results.json` once every run has ended. Crash tests set
`AION_FAULTS` so that it SIGKILLs itself on the way, then run it again.
"""

from __future__ import annotations

import faulthandler
import json
import sys
import time
from pathlib import Path
from typing import Any

from aion_actors import (
    AionError,
    Engine,
    UpdateRejected,
    WorkflowClosed,
    WorkflowFailed,
    WorkflowStatus,
)
from aion_actors.core import events as ev
from tests.reliability import programs

#: how long one driver waits for every run to end before reporting what is left.
DEADLINE = 90.0
#: nothing recorded for this long while runs are open means they are stuck: report them.
STALL = 10.0


def main() -> None:
    workdir = Path(sys.argv[1])
    spec: dict[str, list[Any]] = json.loads((workdir / "spec.json").read_text())
    ledger = str(workdir / "ledger")
    with Engine.open(workdir / "data", workers=2, max_resident=2, idle_evict_after=0.05) as engine:
        engine.register(*programs.ALL)
        for workflow_id, (program, value) in spec.items():
            if engine.store.latest_run(workflow_id) is None:
                engine.start(programs.interpret, ledger, program, value, workflow_id=workflow_id)
        deadline = time.monotonic() + DEADLINE
        recorded, progressed = -1, time.monotonic()
        while not (results := _results(engine, spec)):
            now = time.monotonic()
            if now > deadline or now - progressed > STALL:
                faulthandler.dump_traceback(all_threads=True)  # why it is stuck, for the log
                results = _results(engine, spec, partial=True)
                break
            heads = sum(run.head for run in engine.list_runs())
            if heads != recorded:
                recorded, progressed = heads, now
            _send_awaited_signals(engine)
            _send_awaited_updates(engine, spec)
            time.sleep(0.02)
    written = workdir / "results.json.tmp"
    written.write_text(json.dumps(results))
    written.replace(workdir / "results.json")  # atomically: a reader never sees half a file


def _results(
    engine: Engine, spec: dict[str, list[Any]], *, partial: bool = False
) -> dict[str, Any] | None:
    """Each run's `["ok", result]` or `["failed", error]`; None while any is open."""
    results: dict[str, Any] = {}
    for workflow_id in spec:
        run = engine.store.latest_run(workflow_id)
        if (
            run is None
            or not run.status.is_terminal
            or run.status == WorkflowStatus.CONTINUED_AS_NEW
        ):
            if not partial:
                return None
            results[workflow_id] = ["open", run.status.value if run else "missing"]
            continue
        try:
            results[workflow_id] = ["ok", engine.result(workflow_id, timeout=10)]
        except WorkflowFailed as exc:
            results[workflow_id] = ["failed", str(exc)]
    return results


def _send_awaited_signals(engine: Engine) -> None:
    for run in engine.list_runs(status=WorkflowStatus.RUNNING):
        history = engine.store.read(run.workflow_id, run.run_id)
        received = {e.name for e in history if isinstance(e, ev.SignalReceived)}
        awaited = {
            e.timer_id.split(":")[1]
            for e in history
            if isinstance(e, ev.TimerStarted) and e.timer_id.startswith("signal:")
        }
        for name in sorted(awaited - received):
            try:
                engine.signal(run.workflow_id, name, programs.signal_payload(name))
            except (WorkflowClosed, TimeoutError):
                continue
            except AionError as exc:
                print(f"signal {name} to {run.workflow_id} failed: {exc}", file=sys.stderr)


def _send_awaited_updates(engine: Engine, spec: dict[str, list[Any]]) -> None:
    """While a run waits on a condition, send it its program's first update not yet
    answered, with an id of its run: a resend (after a kill) is answered, not run again."""
    for run in engine.list_runs(status=WorkflowStatus.RUNNING):
        if run.workflow_id not in spec:
            continue
        history = engine.store.read(run.workflow_id, run.run_id)
        ended = {e.timer_id for e in history if isinstance(e, ev.TimerFired | ev.TimerCancelled)}
        waits = [
            e
            for e in history
            if isinstance(e, ev.TimerStarted)
            and e.timer_id.startswith("condition:")
            and e.timer_id not in ended
        ]
        done = {e.update_id for e in history if isinstance(e, ev.UpdateCompleted)}
        ops = [op for op in spec[run.workflow_id][0] if op[0] == "update"]
        for op in ops if waits else []:
            update_id = f"{run.run_id}/{programs.update_name(op[1])}"
            if update_id in done:
                continue
            try:
                engine.update(
                    run.workflow_id, programs.update_name(op[1]), op[1], update_id=update_id
                )
            except (WorkflowClosed, UpdateRejected, TimeoutError):
                pass
            except AionError as exc:
                print(f"update {update_id} to {run.workflow_id} failed: {exc}", file=sys.stderr)
            break


if __name__ == "__main__":
    main()
