"""The demo's verdict: the engine's histories checked against the card ledger.

Activities run at least once: an attempt whose result was never recorded
(its worker died, or the engine was killed) runs again with the same
idempotency key. So a charge *executing* twice is expected and harmless —
the ledger dedupes by key and charges the card once. What must never
happen, and what this module counts:

- a **duplicate charge**: an order whose card was charged more than once,
  i.e. more than one completed charge for the order (the ledger allows one
  per idempotency key, so this means the engine charged one order under two
  keys — re-running a step it had already recorded);
- a **late execution**: the charge code running again *after* its
  completion had been recorded, which the durability contract forbids even
  when the ledger would absorb it;
- an order that did not complete, or whose recorded charge is not the one
  the ledger made.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from aion_actors.cli import _ledger, _orders
from aion_actors.core import WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from aion_actors.workers import AttemptInfo


@dataclass(frozen=True)
class Verdict:
    orders: int
    completed: int
    charges: int
    executions: int
    duplicate_charges: int
    late_executions: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def headline(self) -> str:
        if self.ok:
            return f"all {self.orders} orders completed, 0 duplicate charges"
        return (
            f"{self.completed} of {self.orders} orders completed, "
            f"{self.duplicate_charges} duplicate charges, {self.late_executions} late executions"
        )


def check(data: Path, orders: int) -> Verdict:
    executions, charges = _ledger.read(data / _ledger.LEDGER_FILE)
    charged: defaultdict[str, list[_ledger.Charge]] = defaultdict(list)
    for charge in charges:
        charged[charge.order_id].append(charge)
    recorded_at: dict[str, int] = {}
    problems: list[str] = []
    completed = 0
    with LmdbStore(data, readonly=True) as store:
        for n in range(orders):
            workflow_id = _orders.order_id(n)
            run = store.latest_run(workflow_id)
            if run is None:
                problems.append(f"{workflow_id} was never started")
                continue
            history = store.read(workflow_id, run.run_id)
            recorded_at.update(_charge_completions(workflow_id, run.run_id, history))
            if run.status != WorkflowStatus.COMPLETED:
                problems.append(f"{workflow_id} is {run.status.value}, not completed")
                continue
            completed += 1
            result = history[-1].result if isinstance(history[-1], ev.WorkflowCompleted) else None
            charge_id = result.get("charge_id") if isinstance(result, dict) else None
            if charge_id not in {c.charge_id for c in charged.get(workflow_id, [])}:
                problems.append(f"{workflow_id}: the recorded charge is not the ledger's")
    duplicates = sum(len(c) - 1 for c in charged.values() if len(c) > 1)
    if duplicates:
        problems.append(f"{duplicates} duplicate charges")
    late = Counter(
        e.idempotency_key
        for e in executions
        if e.idempotency_key in recorded_at and e.started_ns > recorded_at[e.idempotency_key]
    )
    if late:
        problems.append(f"{sum(late.values())} charges executed after their result was recorded")
    return Verdict(
        orders=orders,
        completed=completed,
        charges=len(charges),
        executions=len(executions),
        duplicate_charges=duplicates,
        late_executions=sum(late.values()),
        problems=tuple(problems),
    )


def _charge_completions(workflow_id: str, run_id: str, history: list[ev.Event]) -> dict[str, int]:
    """Idempotency key → when the engine recorded that charge's completion (unix ns)."""
    charges = {
        e.activity_id
        for e in history
        if isinstance(e, ev.ActivityScheduled) and e.name == _orders.charge_card.name
    }
    return {
        AttemptInfo(workflow_id, run_id, e.activity_id, 1).idempotency_key: e.recorded_at
        for e in history
        if isinstance(e, ev.ActivityCompleted) and e.activity_id in charges
    }
