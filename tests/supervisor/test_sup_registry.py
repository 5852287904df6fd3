"""Registry, Handle and CompletionNotifier semantics."""

from __future__ import annotations

import threading

import pytest

from supervisor import CompletionNotifier, Handle, Outcome, Registry, RegistryError, Residency


def handle(key: object, pid: int = 1, status: str = "running") -> Handle[object]:
    return Handle(key=key, pid=pid, kind="checkout", version="v1", status=status)


def test_insert_returns_the_previous_handle_and_get_finds_it() -> None:
    registry: Registry[object] = Registry()
    first, second = handle(("wf", "r1"), 1), handle(("wf", "r1"), 2)
    assert registry.insert(("wf", "r1"), first) is None
    assert registry.insert(("wf", "r1"), second) is first
    assert registry.get(("wf", "r1")) is second
    assert registry.insert(("wf", "r2"), handle(("wf", "r2"), 3)) is None
    assert len(registry) == 2


def test_remove_removes_only_that_key() -> None:
    registry: Registry[object] = Registry()
    a, b = handle(("wf", "a")), handle(("wf", "b"))
    registry.insert(a.key, a)
    registry.insert(b.key, b)
    assert registry.remove(("wf", "a")) is a
    assert registry.get(("wf", "a")) is None
    assert registry.get(("wf", "b")) is b


def test_unknown_keys_give_none() -> None:
    registry: Registry[str] = Registry()
    assert registry.get("x") is None
    assert registry.remove("x") is None
    assert registry.replace_residency("x", Residency.EVICTED) is None
    assert registry.reconcile("x", "completed") is None
    assert registry.list() == []


def test_list_is_a_snapshot_that_later_changes_do_not_touch() -> None:
    registry: Registry[str] = Registry()
    registry.insert("a", handle("a"))
    snapshot = registry.list()
    registry.reconcile("a", "completed")
    registry.replace_residency("a", Residency.EVICTED)
    registry.insert("b", handle("b"))
    assert [(h.key, h.status, h.residency) for h in snapshot] == [
        ("a", "running", Residency.RESIDENT)
    ]


def test_replace_residency_touches_nothing_else() -> None:
    registry: Registry[str] = Registry()
    original = handle("a", pid=7, status="running")
    registry.insert("a", original)
    updated = registry.replace_residency("a", Residency.PARKED)
    assert updated == Handle("a", 7, "checkout", "v1", "running", Residency.PARKED)
    assert updated is not None and updated.completion is original.completion
    assert registry.get("a") == updated


def test_reconcile_overwrites_the_cached_status_the_projection_wins() -> None:
    registry: Registry[str] = Registry()
    registry.insert("a", handle("a", status="failed"))
    registry.replace_residency("a", Residency.EVICTED)
    updated = registry.reconcile("a", "running")
    assert updated is not None
    assert (updated.status, updated.residency) == ("running", Residency.EVICTED)
    assert registry.get("a") == updated


def test_concurrent_inserts_from_eight_threads() -> None:
    registry: Registry[tuple[int, int]] = Registry()
    barrier = threading.Barrier(8)
    previous: list[object] = []

    def insert(thread: int) -> None:
        barrier.wait()
        for i in range(500):
            registry.insert((thread, i), handle((thread, i), pid=i))
            old = registry.insert((-1, -1), handle((-1, -1), pid=thread))
            previous.append(old)

    threads = [threading.Thread(target=insert, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(registry) == 8 * 500 + 1
    assert sorted(h.key for h in registry.list())[1:] == [
        (t, i) for t in range(8) for i in range(500)
    ]
    assert previous.count(None) == 1  # exactly one insert of the shared key found it empty


class Clash:
    """A key that hashes like every other Clash and cannot be compared with them."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Clash) and other.name != self.name:
            raise RuntimeError("cannot compare")
        return self is other


def test_a_failure_inside_the_lock_leaves_the_registry_consistent_and_typed_errors_after() -> None:
    registry: Registry[object] = Registry()
    first = handle(Clash("a"))
    registry.insert(first.key, first)
    second = handle(Clash("b"))
    with pytest.raises(RegistryError, match="insert failed") as caught:
        registry.insert(second.key, second)
    assert isinstance(caught.value.__cause__, RuntimeError)
    for call in (registry.list, lambda: registry.get("x"), lambda: len(registry)):
        with pytest.raises(RegistryError, match="unusable"):
            call()


def test_bad_keys_are_refused_without_poisoning() -> None:
    registry: Registry[object] = Registry()
    with pytest.raises(RegistryError, match="not hashable"):
        registry.get([1, 2])
    with pytest.raises(RegistryError, match="differs"):
        registry.insert("a", handle("b"))
    assert registry.list() == []


def test_a_late_subscriber_still_sees_the_outcome() -> None:
    notifier: CompletionNotifier[int] = CompletionNotifier()
    early: list[Outcome[int]] = []
    notifier.subscribe(early.append)
    assert notifier.complete(42)
    assert not notifier.complete(43)
    assert not notifier.fail(ValueError("late"))
    late: list[Outcome[int]] = []
    notifier.subscribe(late.append)
    assert early == late == [Outcome(value=42)]
    assert notifier.wait(0).unwrap() == 42


def test_a_failed_outcome_raises_on_unwrap_and_wait_times_out_before() -> None:
    notifier: CompletionNotifier[int] = CompletionNotifier()
    with pytest.raises(TimeoutError):
        notifier.wait(0.01)
    threading.Timer(0.01, notifier.fail, args=(ValueError("boom"),)).start()
    outcome = notifier.wait(10)
    assert not outcome.ok
    with pytest.raises(ValueError, match="boom"):
        outcome.unwrap()


def test_handle_copies_share_the_completion_notifier() -> None:
    registry: Registry[str] = Registry()
    original = handle("a")
    registry.insert("a", original)
    updated = registry.reconcile("a", "completed")
    assert updated is not None
    original.completion.complete("done")
    assert updated.completion.outcome == Outcome(value="done")


def test_update_is_an_atomic_read_modify_write() -> None:
    registry: Registry[str] = Registry()
    registry.insert("a", handle("a").replace(version="0"))

    def bump(h: Handle[str]) -> Handle[str]:
        return h.replace(version=str(int(h.version or "0") + 1))

    def bumper() -> None:
        for _ in range(500):
            registry.update("a", bump)

    threads = [threading.Thread(target=bumper) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = registry.get("a")
    assert final is not None and final.version == "4000"  # no update lost to a race
    assert registry.update("missing", bump) is None
