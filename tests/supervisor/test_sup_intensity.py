"""Restart intensity, escalation through a supervision tree, backoff, per-child budgets."""

from __future__ import annotations

import threading

import pykka
import pytest

from supervisor import (
    Backoff,
    ChildInfo,
    ChildSpec,
    ExitReason,
    RestartPolicy,
    Supervisor,
)
from tests.supervisor.helpers import (
    Budget,
    Exits,
    Log,
    Worker,
    crash,
    current,
    restarted,
    wait_until,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class GaveUp:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object, ExitReason]] = []
        self.event = threading.Event()

    def __call__(self, name: str, info: ChildInfo, reason: ExitReason) -> None:
        self.calls.append((name, info.key, reason))
        self.event.set()


def test_more_than_max_restarts_in_the_window_gives_up_and_stops_children_in_reverse(
    start_sup,
) -> None:
    log, gave_up = Log(), GaveUp()
    sup = start_sup(
        RestartPolicy(max_restarts=2, within_seconds=60),
        [ChildSpec(n, actor=Worker, args=(n, log)) for n in ("a", "b", "c")],
        name="top",
        on_exhausted=gave_up,
        clock=FakeClock(),
    )
    crash(sup, "b")
    crash(sup, "b")
    current(sup, "b").ref.tell("crash")
    assert gave_up.event.wait(15)
    wait_until(lambda: not sup.is_alive(), "the supervisor to exit")
    assert sup.exit_reason == ExitReason.SHUTDOWN
    assert gave_up.calls[0][:2] == ("top", "b")
    assert gave_up.calls[0][2].kind == "crash"
    assert log.items()[-2:] == [("stop", "c"), ("stop", "a")]


def test_the_window_slides(start_sup) -> None:
    clock = FakeClock()
    policy = RestartPolicy(max_restarts=1, within_seconds=10)
    sup = start_sup(policy, [ChildSpec("w", actor=Worker)], clock=clock)
    for _ in range(4):
        crash(sup, "w")
        clock.now += 10.5
    assert sup.is_alive()


def test_max_restarts_zero_restarts_nothing(start_sup) -> None:
    gave_up = GaveUp()
    sup = start_sup(
        RestartPolicy(max_restarts=0), [ChildSpec("w", actor=Worker)], on_exhausted=gave_up
    )
    current(sup, "w").ref.tell("crash")
    assert gave_up.event.wait(15)
    wait_until(lambda: not sup.is_alive(), "the supervisor to exit")


def test_a_group_restart_counts_as_one_restart(start_sup) -> None:
    gave_up = GaveUp()
    sup = start_sup(
        RestartPolicy("one_for_all", max_restarts=1, within_seconds=60),
        [ChildSpec(n, actor=Worker, args=(n,)) for n in ("a", "b", "c")],
        on_exhausted=gave_up,
        clock=FakeClock(),
    )
    crash(sup, "a")
    wait_until(lambda: all(i.alive for i in sup.which_children()), "the group back")
    assert sup.is_alive()
    current(sup, "c").ref.tell("crash")
    assert gave_up.event.wait(15)


def test_failed_start_attempts_during_a_restart_count_against_the_intensity(start_sup) -> None:
    budget, exits, gave_up = Budget(), Exits(), GaveUp()
    sup = start_sup(
        RestartPolicy(max_restarts=3, within_seconds=60),
        [ChildSpec("w", actor=Worker, args=("w", None, budget), on_exit=exits)],
        on_exhausted=gave_up,
        clock=FakeClock(),
    )
    budget.arm(2)
    crash(sup, "w")  # one crash, two failed starts, then up: 3 restarts
    assert [r.kind for r in exits.reasons("w")] == ["crash", "crash", "crash"]
    assert "cannot start" in str(exits.calls[1][3])
    assert sup.is_alive()
    current(sup, "w").ref.tell("crash")
    assert gave_up.event.wait(15)


def test_one_for_all_sibling_failing_mid_restart_stops_the_restarted_and_retries_the_group(
    start_sup,
) -> None:
    log, budget = Log(), Budget()
    sup = start_sup(
        RestartPolicy("one_for_all", 10, 60),
        [
            ChildSpec("a", actor=Worker, args=("a", log)),
            ChildSpec("b", actor=Worker, args=("b", log, budget)),
            ChildSpec("c", actor=Worker, args=("c", log)),
        ],
    )
    budget.arm(1)
    crash(sup, "a")
    wait_until(lambda: all(i.alive for i in sup.which_children()), "the group back")
    assert log.items()[3:] == [
        ("stop", "c"),
        ("stop", "b"),
        ("start", "a"),
        ("start-failed", "b"),
        ("stop", "a"),
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
    ]


def test_rest_for_one_retry_starts_from_the_child_that_failed(start_sup) -> None:
    log, budget = Log(), Budget()
    sup = start_sup(
        RestartPolicy("rest_for_one", 10, 60),
        [
            ChildSpec("a", actor=Worker, args=("a", log)),
            ChildSpec("b", actor=Worker, args=("b", log, budget)),
            ChildSpec("c", actor=Worker, args=("c", log)),
        ],
    )
    budget.arm(1)
    crash(sup, "a")
    wait_until(lambda: all(i.alive for i in sup.which_children()), "the group back")
    assert log.items()[3:] == [
        ("stop", "c"),
        ("stop", "b"),
        ("start", "a"),
        ("start-failed", "b"),
        ("start", "b"),
        ("start", "c"),
    ]


def test_escalation_through_a_three_level_tree(start_sup) -> None:
    gave_up = GaveUp()
    leaf = ChildSpec(
        "leaf",
        actor=Supervisor,
        args=(RestartPolicy(max_restarts=0),),
        kwargs={"children": [ChildSpec("w", actor=Worker)]},
    )
    mid = ChildSpec(
        "mid", actor=Supervisor, args=(RestartPolicy(max_restarts=1),), kwargs={"children": [leaf]}
    )
    root = start_sup(RestartPolicy(max_restarts=1), [mid], name="root", on_exhausted=gave_up)
    assert root.count_children() == {"specs": 1, "active": 1, "supervisors": 1, "workers": 0}

    def worker() -> ChildInfo:
        mid_sup = current(root, "mid").ref
        assert isinstance(mid_sup, Supervisor)
        leaf_sup = current(mid_sup, "leaf").ref
        assert isinstance(leaf_sup, Supervisor)
        return current(leaf_sup, "w")

    def crash_worker() -> None:
        old = worker()
        old.ref.tell("crash")
        wait_until(
            lambda: not root.is_alive() or _alive_pid(worker) not in (None, old.pid),
            "the tree to react",
        )

    mids = [current(root, "mid").pid]
    crash_worker()  # leaf gives up; mid restarts it
    assert current(root, "mid").pid == mids[0]
    crash_worker()  # leaf gives up again; mid gives up; root restarts mid
    mids.append(current(root, "mid").pid)
    assert mids[1] != mids[0]
    crash_worker()
    assert root.is_alive()
    worker().ref.tell("crash")  # new mid gives up, root's second restart: root gives up
    assert gave_up.event.wait(15)
    wait_until(lambda: not root.is_alive(), "the root to exit")
    assert root.exit_reason == ExitReason.SHUTDOWN
    assert gave_up.calls[0][1:] == ("mid", ExitReason.SHUTDOWN)


def _alive_pid(worker: object) -> int | None:
    try:
        info = worker()  # type: ignore[operator]
    except Exception:
        return None
    return info.pid if info.alive else None


def test_backoff_sequence_is_exact_with_an_injected_clock_and_random(start_sup) -> None:
    clock = FakeClock()
    delays: list[float] = []
    policy = RestartPolicy(
        max_restarts=5,
        within_seconds=100,
        backoff=Backoff(initial=0.01, multiplier=2.0, max=0.05, jitter=0.5),
    )
    spec = ChildSpec("w", actor=Worker, on_restart=lambda info, delay: delays.append(delay))
    sup = start_sup(policy, [spec], clock=clock, random=lambda: 0.5)
    for _ in range(5):
        crash(sup, "w")
    clock.now += 100.5
    crash(sup, "w")
    assert delays == pytest.approx([0.0125, 0.025, 0.05, 0.0625, 0.0625, 0.0125])


def test_during_backoff_the_supervisor_answers_and_the_old_ref_fails_fast(start_sup) -> None:
    policy = RestartPolicy(max_restarts=5, backoff=Backoff(initial=1.0))
    sup = start_sup(
        policy, [ChildSpec("w", actor=Worker), ChildSpec("x", actor=Worker, args=("x",))]
    )
    old = current(sup, "w")
    old.ref.tell("crash")
    wait_until(lambda: not current(sup, "w").alive, "the crash to be seen")
    waiting = current(sup, "w")
    assert (waiting.pid, waiting.ref) == (None, None)
    assert current(sup, "x").ref.ask("busy?") == ("x", "busy?")
    with pytest.raises(pykka.ActorDeadError):
        old.ref.ask("hello", timeout=10)
    restarted(sup, "w", old.pid)


def test_restart_child_during_backoff_starts_it_now(start_sup) -> None:
    sup = start_sup(RestartPolicy(backoff=Backoff(initial=30.0)), [ChildSpec("w", actor=Worker)])
    current(sup, "w").ref.tell("crash")
    wait_until(lambda: not current(sup, "w").alive, "the crash to be seen")
    info = sup.restart_child("w")
    assert info.alive
    assert info.ref.ask(1) == ("w", 1)


@pytest.mark.parametrize("action", ["fail", "park"])
def test_per_child_exhaustion_drops_only_that_child_and_calls_its_hook(
    start_sup, action: str
) -> None:
    calls: list[tuple[object, str, str]] = []
    done = threading.Event()

    def on_exhausted(info: ChildInfo, reason: ExitReason, exc: object, act: str) -> None:
        calls.append((info.key, reason.kind, act))
        done.set()

    policy = RestartPolicy(max_restarts=1, within_seconds=60, on_exhausted=action)  # type: ignore[arg-type]
    sup = start_sup(
        policy,
        [
            ChildSpec(k, actor=Worker, restart="transient", on_exhausted=on_exhausted)
            for k in ("r1", "r2")
        ],
        clock=FakeClock(),
    )
    crash(sup, "r1")
    crash(sup, "r2")  # each child has its own window
    r2 = current(sup, "r2")
    current(sup, "r1").ref.tell("crash")
    assert done.wait(15)
    assert calls == [("r1", "crash", action)]
    assert sup.lookup("r1") is None
    assert sup.is_alive()
    assert current(sup, "r2").pid == r2.pid


def test_restart_history_seeds_the_childs_budget(start_sup) -> None:
    done = threading.Event()
    policy = RestartPolicy(max_restarts=3, within_seconds=60, on_exhausted="park")
    sup = start_sup(policy, clock=FakeClock())
    sup.start_child(
        ChildSpec(
            "old",
            actor=Worker,
            restart_history=(50.0, 5.0, 70.0),
            on_exhausted=lambda *_: done.set(),
        )
    )
    assert current(sup, "old").restarts == 3
    crash(sup, "old")  # 50 s and 5 s ago are in the window; 70 s ago is not
    current(sup, "old").ref.tell("crash")
    assert done.wait(15)
    assert sup.lookup("old") is None


def test_a_give_up_under_a_childs_own_policy_names_that_policys_budget(
    start_sup, caplog: pytest.LogCaptureFixture
) -> None:
    own = RestartPolicy(max_restarts=0, within_seconds=99, on_exhausted="escalate")
    sup = start_sup(RestartPolicy(max_restarts=3, within_seconds=5, on_exhausted="fail"))
    sup.start_child(ChildSpec("c", actor=Worker, policy=own))
    current(sup, "c").ref.tell("crash")
    wait_until(lambda: "gives up" in caplog.text, "the supervisor to give up")
    assert "more than 0 times in 99 s" in caplog.text


def test_a_childs_own_policy_overrides_the_supervisors(start_sup) -> None:
    done = threading.Event()
    own = RestartPolicy(max_restarts=0, on_exhausted="fail")
    sup = start_sup(RestartPolicy(max_restarts=100), clock=FakeClock())
    sup.start_child(
        ChildSpec("strict", actor=Worker, policy=own, on_exhausted=lambda *_: done.set())
    )
    sup.start_child(ChildSpec("lax", actor=Worker))
    current(sup, "strict").ref.tell("crash")
    assert done.wait(15)
    crash(sup, "lax")
    assert sup.is_alive()
    assert [i.key for i in sup.which_children()] == ["lax"]
