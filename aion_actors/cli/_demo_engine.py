"""The demo's engine process: `python -m aion_actors.cli._demo_engine DATA RUNS WORKERS FAULTS`.

It runs in a session of its own so that the demo can SIGKILL it together
with its worker processes, and it is idempotent: started again on the same
data directory it starts only the orders that do not exist yet, approves
only those not approved yet, and waits for every order to end. Orders
arrive as a stream, at most `window(runs)` open at a time, as they would in
a shop, so that the demo's kill lands while orders are in every stage.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from pathlib import Path

from aion_actors import AionError, Engine, RunHandle, WorkflowClosed, WorkflowFailed
from aion_actors.cli import _ledger, _orders
from aion_actors.core import events as ev
from supervisor import Timers

#: how long after its start an order is approved, as a reviewer would.
APPROVAL_DELAY = 0.3


def _approve(engine: Engine, workflow_id: str) -> None:
    with contextlib.suppress(WorkflowClosed):
        engine.signal(workflow_id, "approve", {"by": "demo-reviewer"})


def _approved(engine: Engine, workflow_id: str) -> bool:
    return any(
        isinstance(e, ev.SignalReceived) and e.name == "approve"
        for e in engine.history(workflow_id)
    )


def window(runs: int) -> int:
    return max(4, runs // 8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aion_actors.cli._demo_engine")
    parser.add_argument("data", type=Path)
    parser.add_argument("runs", type=int)
    parser.add_argument("workers", type=int)
    parser.add_argument("faults", type=int, choices=(0, 1))
    args = parser.parse_args(argv)
    try:
        _drive(args.data, args.runs, args.workers, faults=bool(args.faults))
    except AionError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    print("DONE", flush=True)
    return 0


def _drive(data: Path, runs: int, workers: int, *, faults: bool) -> None:
    ledger = str(data.resolve() / _ledger.LEDGER_FILE)
    with Engine.open(data, workers=workers) as engine:
        engine.register(*_orders.ALL)
        approvals = Timers(lambda workflow_id: _approve(engine, str(workflow_id)))
        slots = threading.BoundedSemaphore(window(runs))
        try:
            ids = []
            for n in range(runs):
                workflow_id = _orders.order_id(n)
                ids.append(workflow_id)
                run = engine.store.latest_run(workflow_id)
                if run is not None and run.status.is_terminal:
                    continue
                if run is not None and not _approved(engine, workflow_id):
                    approvals.schedule(APPROVAL_DELAY, workflow_id)
                slots.acquire()
                if run is None:
                    order = _orders.new_order(n, ledger, faults=faults)
                    handle = engine.start(_orders.process_order, order, workflow_id=workflow_id)
                    approvals.schedule(APPROVAL_DELAY, workflow_id)
                else:
                    handle = RunHandle(engine, workflow_id, run.run_id)
                handle.add_done_callback(slots.release)
            print("STARTED", flush=True)
            for workflow_id in ids:
                with contextlib.suppress(WorkflowFailed):
                    engine.result(workflow_id)
        finally:
            approvals.close()


if __name__ == "__main__":
    raise SystemExit(main())
