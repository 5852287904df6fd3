"""Conformance: which closed runs have expired, and deleting a run whole."""

from __future__ import annotations

from collections.abc import Callable

from aion_actors.core import Event
from aion_actors.core import events as ev
from aion_actors.store import EventStore
from aion_actors.store.protocol import AppendRequest
from tests.store.helpers import signals, started

SECOND = 1_000_000_000
FAR = 2**62


def close(store: EventStore, workflow_id: str, run_id: str = "r1") -> int:
    """Close the run with `WorkflowCompleted`; its `ended_at`."""
    store.append(
        workflow_id, run_id, [ev.WorkflowCompleted(result=None)], store.head(workflow_id, run_id)
    )
    summary = store.get_run(workflow_id, run_id)
    assert summary is not None and summary.ended_at is not None
    return summary.ended_at


def begin(
    store: EventStore, workflow_id: str, workflow_type: str, *more: Event, **kw: object
) -> None:
    store.append(workflow_id, "r1", [started(workflow_type, **kw), *more], 0)  # type: ignore[arg-type]


def keep(**by_type: float | None) -> Callable[[str], int | None]:
    """A retention_of: seconds per type, in ns; types not named are kept forever."""

    def retention_of(workflow_type: str) -> int | None:
        seconds = by_type.get(workflow_type)
        return None if seconds is None else int(seconds * SECOND)

    return retention_of


def ids(store: EventStore, as_of: int, retention_of: Callable[[str], int | None]) -> list[str]:
    return [run.workflow_id for run in store.expired_runs(as_of, retention_of)]


def test_only_closed_runs_of_a_type_with_a_retention_expire(store: EventStore) -> None:
    begin(store, "open", "checkout")
    begin(store, "done", "checkout")
    begin(store, "shipped", "ship")
    close(store, "done")
    close(store, "shipped")
    assert ids(store, FAR, keep(checkout=0)) == ["done"]
    assert ids(store, FAR, keep(checkout=1, ship=1)) == ["done", "shipped"]
    assert ids(store, FAR, keep()) == []  # every type kept forever


def test_a_retention_counts_from_the_close(store: EventStore) -> None:
    begin(store, "w", "checkout")
    ended = close(store, "w")
    retention = keep(checkout=10)
    assert ids(store, ended + 10 * SECOND - 1, retention) == []
    assert ids(store, ended + 10 * SECOND, retention) == ["w"]
    assert store.next_expiry(retention) == ended + 10 * SECOND
    assert store.next_expiry(keep()) is None


def test_expired_runs_come_earliest_expiry_first_up_to_the_limit(store: EventStore) -> None:
    for name, workflow_type in (("a", "slow"), ("b", "fast"), ("c", "slow"), ("d", "fast")):
        begin(store, name, workflow_type)
        close(store, name)
    retention = keep(slow=100, fast=1)
    assert ids(store, FAR, retention) == ["b", "d", "a", "c"]
    assert [r.workflow_id for r in store.expired_runs(FAR, retention, limit=3)] == ["b", "d", "a"]
    first_fast = store.get_run("b", "r1")
    assert first_fast is not None and first_fast.ended_at is not None
    assert store.next_expiry(retention) == first_fast.ended_at + SECOND


def test_a_child_is_kept_while_its_parent_is_open_and_freed_when_it_closes(
    store: EventStore,
) -> None:
    begin(store, "parent", "order")
    begin(store, "child", "ship", parent={"workflow_id": "parent", "run_id": "r1"})
    close(store, "child")
    retention = keep(order=0, ship=0)
    assert ids(store, FAR, retention) == []
    assert store.next_expiry(retention) is None
    assert store.delete_run("child", "r1") is False
    assert store.get_run("child", "r1") is not None
    parent_ended = close(store, "parent")
    assert sorted(ids(store, FAR, retention)) == ["child", "parent"]
    assert store.next_expiry(retention) == parent_ended  # the child's retention starts now
    assert store.delete_run("child", "r1") is True


def test_a_child_whose_parent_is_gone_or_closed_expires_from_its_own_close(
    store: EventStore,
) -> None:
    begin(store, "parent", "order")
    close(store, "parent")
    begin(store, "orphan", "ship", parent={"workflow_id": "gone", "run_id": "r9"})
    begin(store, "late", "ship", parent={"workflow_id": "parent", "run_id": "r1"})
    orphan_ended = close(store, "orphan")
    close(store, "late")
    assert ids(store, FAR, keep(ship=0)) == ["orphan", "late"]
    assert store.next_expiry(keep(ship=0)) == orphan_ended


def test_delete_run_removes_history_index_timers_and_expiry(store: EventStore) -> None:
    begin(store, "w", "checkout", *signals(3))
    begin(store, "other", "checkout", *signals(2))
    close(store, "w")
    store.schedule_timer("w", "r1", "stray", 5)  # a timer no event records
    assert store.delete_run("w", "r1") is True
    assert store.get_run("w", "r1") is None
    assert store.read("w", "r1") == []
    assert store.head("w", "r1") == 0
    assert [r.workflow_id for r in store.runs()] == ["other"]
    assert store.latest_run("w") is None
    assert store.due_timers(FAR) == []
    assert ids(store, FAR, keep(checkout=0)) == []
    assert store.next_expiry(keep(checkout=0)) is None
    assert len(store.read("other", "r1")) == 3
    assert store.delete_run("w", "r1") is False  # already gone


def test_delete_run_refuses_open_and_unknown_runs(store: EventStore) -> None:
    begin(store, "open", "checkout")
    store.append("parked", "r1", [started(), ev.RunParked(reason="x")], 0)
    assert store.delete_run("open", "r1") is False
    assert store.delete_run("parked", "r1") is False
    assert store.delete_run("nobody", "r1") is False
    assert [r.workflow_id for r in store.runs()] == ["open", "parked"]
    assert len(store.read("open", "r1")) == 1


def test_a_workflow_id_starts_again_after_its_runs_are_deleted(store: EventStore) -> None:
    begin(store, "w", "checkout")
    close(store, "w")
    assert store.delete_run("w", "r1")
    store.append("w", "r2", [started(run_id="r2")], 0)
    latest = store.latest_run("w")
    assert latest is not None and latest.run_id == "r2"


def test_delete_runs_deletes_each_deletable_run_and_says_which(store: EventStore) -> None:
    begin(store, "open", "checkout")
    for name in ("a", "b", "c"):
        begin(store, name, "checkout", *signals(150))  # together over one transaction's worth
        close(store, name)
    done = store.delete_runs(
        [("a", "r1"), ("open", "r1"), ("nobody", "r1"), ("b", "r1"), ("c", "r1")]
    )
    assert done == [True, False, False, True, True]
    assert [r.workflow_id for r in store.runs()] == ["open"]
    assert store.read("b", "r1") == [] and store.read("c", "r1") == []


def test_a_child_closed_before_its_parent_in_one_batch_counts_from_the_parents_close(
    store: EventStore,
) -> None:
    begin(store, "parent", "order")
    begin(store, "child", "ship", parent={"workflow_id": "parent", "run_id": "r1"})
    results = store.append_batch(
        [
            AppendRequest("child", "r1", (ev.WorkflowCompleted(recorded_at=100 * SECOND),), 1),
            AppendRequest("parent", "r1", (ev.WorkflowCompleted(recorded_at=200 * SECOND),), 1),
        ]
    )
    assert all(isinstance(result, list) for result in results)
    retention = keep(ship=0, order=1000)
    assert store.next_expiry(retention) == 200 * SECOND  # the child, freed at the parent's end
    assert ids(store, 200 * SECOND, retention) == ["child"]
    assert ids(store, 200 * SECOND - 1, retention) == []


def test_a_paused_run_is_open_so_its_closed_child_is_kept(store: EventStore) -> None:
    begin(store, "parent", "order", ev.RunPaused(reason="look"))
    begin(store, "child", "ship", parent={"workflow_id": "parent", "run_id": "r1"})
    close(store, "child")
    assert [r.workflow_id for r in store.open_runs()] == ["parent"]
    assert ids(store, FAR, keep(order=0, ship=0)) == []
    assert store.delete_run("parent", "r1") is False
    assert store.delete_run("child", "r1") is False
