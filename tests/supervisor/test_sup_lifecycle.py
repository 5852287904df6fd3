"""Starting, stopping, failed starts, shutdown timeouts, and no leaks."""

from __future__ import annotations

import threading

import pykka
import pytest

from supervisor import (
    ChildSpec,
    DuplicateChild,
    ExitReason,
    RestartPolicy,
    Supervisor,
    SupervisorError,
)
from supervisor._messages import CountChildren, Lookup
from tests.supervisor.helpers import (
    BadInit,
    Budget,
    Exits,
    Log,
    Worker,
    crash,
    current,
    descendants,
    exit_with,
    sleep_forever,
    wait_until,
)


def test_a_child_failing_in_on_start_raises_with_the_cause_and_keeps_no_spec(start_sup) -> None:
    sup = start_sup(RestartPolicy())
    threads = threading.active_count()
    with pytest.raises(SupervisorError, match="'bad'") as caught:
        sup.start_child(ChildSpec("bad", actor=Worker, args=("bad", None, Budget(1))))
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert sup.which_children() == []
    assert threading.active_count() == threads


def test_a_child_failing_in_init_raises_with_the_cause(start_sup) -> None:
    sup = start_sup(RestartPolicy())
    with pytest.raises(SupervisorError) as caught:
        sup.start_child(ChildSpec("bad", actor=BadInit))
    assert isinstance(caught.value.__cause__, KeyError)
    assert sup.lookup("bad") is None


def test_a_static_child_failing_aborts_the_start_and_stops_the_started_ones() -> None:
    log = Log()
    threads = threading.active_count()
    with pytest.raises(SupervisorError) as caught:
        Supervisor.start(
            RestartPolicy(),
            [
                ChildSpec("a", actor=Worker, args=("a", log)),
                ChildSpec("b", actor=Worker, args=("b", log)),
                ChildSpec("c", actor=Worker, args=("c", log, Budget(1))),
            ],
        )
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert log.items() == [
        ("start", "a"),
        ("start", "b"),
        ("start-failed", "c"),
        ("stop", "b"),
        ("stop", "a"),
    ]
    wait_until(lambda: threading.active_count() == threads, "threads to end")


def test_a_sub_supervisor_whose_child_fails_to_start_fails_to_start(start_sup) -> None:
    log = Log()
    sup = start_sup(RestartPolicy())
    threads = threading.active_count()
    sub = ChildSpec(
        "sub",
        actor=Supervisor,
        args=(RestartPolicy(),),
        kwargs={
            "children": [
                ChildSpec("ok", actor=Worker, args=("ok", log)),
                ChildSpec("bad", actor=Worker, args=("bad", log, Budget(1))),
            ]
        },
    )
    with pytest.raises(SupervisorError, match="'sub'") as caught:
        sup.start_child(sub)
    inner = caught.value.__cause__
    assert isinstance(inner, SupervisorError)
    assert isinstance(inner.__cause__, RuntimeError)
    assert log.items() == [("start", "ok"), ("start-failed", "bad"), ("stop", "ok")]
    assert sup.which_children() == []
    wait_until(lambda: threading.active_count() == threads, "threads to end")


def test_restart_child_failing_raises_and_keeps_the_spec(start_sup) -> None:
    budget = Budget()
    sup = start_sup(RestartPolicy(), [ChildSpec("w", actor=Worker, args=("w", None, budget))])
    sup.terminate_child("w")
    budget.arm(1)
    with pytest.raises(SupervisorError) as caught:
        sup.restart_child("w")
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert current(sup, "w").alive is False
    assert sup.restart_child("w").alive


def test_duplicate_and_unknown_keys_are_refused(start_sup) -> None:
    sup = start_sup(RestartPolicy(), [ChildSpec("w", actor=Worker)])
    with pytest.raises(DuplicateChild, match="already has a child 'w'"):
        sup.start_child(ChildSpec("w", actor=Worker))
    for call in (sup.terminate_child, sup.restart_child, sup.delete_child):
        with pytest.raises(SupervisorError, match="no child 'nope'"):
            call("nope")
    with pytest.raises(SupervisorError, match="running"):
        sup.delete_child("w")
    with pytest.raises(SupervisorError, match="running"):
        sup.restart_child("w")


def test_racing_starts_of_one_key_start_it_once_and_a_forgotten_key_is_free_again(
    start_sup,
) -> None:
    sup = start_sup(RestartPolicy(), forget_exited=True)
    outcomes: list[object] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        try:
            outcomes.append(sup.start_child(ChildSpec("k", actor=Worker, restart="transient")))
        except DuplicateChild as exc:
            outcomes.append(exc)

    racers = [threading.Thread(target=start) for _ in range(8)]
    for thread in racers:
        thread.start()
    for thread in racers:
        thread.join()
    started = [o for o in outcomes if not isinstance(o, DuplicateChild)]
    assert len(started) == 1 and len(outcomes) == 8
    assert sup.count_children()["active"] == 1
    started[0].ref.tell("stop")  # type: ignore[attr-defined]
    wait_until(lambda: sup.lookup("k") is None, "the exited child to be forgotten")
    assert sup.start_child(ChildSpec("k", actor=Worker, restart="transient")).alive


def test_terminate_child_never_triggers_the_strategy_and_is_idempotent(start_sup) -> None:
    log, exits = Log(), Exits()
    sup = start_sup(
        RestartPolicy("one_for_all"),
        [
            ChildSpec("a", actor=Worker, args=("a", log), on_exit=exits),
            ChildSpec("b", actor=Worker, args=("b", log)),
        ],
    )
    b_pid = current(sup, "b").pid
    sup.terminate_child("a")
    sup.terminate_child("a")
    assert exits.reasons("a") == [ExitReason.SHUTDOWN]
    assert current(sup, "b").pid == b_pid
    assert [(i.key, i.alive) for i in sup.which_children()] == [("a", False), ("b", True)]
    assert sup.count_children() == {"specs": 2, "active": 1, "supervisors": 0, "workers": 2}
    sup.delete_child("a")
    assert [i.key for i in sup.which_children()] == ["b"]


def test_terminating_a_temporary_child_forgets_its_spec(start_sup) -> None:
    sup = start_sup(RestartPolicy(), [ChildSpec("t", actor=Worker, restart="temporary")])
    sup.terminate_child("t")
    assert sup.which_children() == []


def test_stop_stops_children_in_reverse_start_order(start_sup) -> None:
    log = Log()
    sup = start_sup(RestartPolicy(), [ChildSpec(n, actor=Worker, args=(n, log)) for n in "abc"])
    sup.start_child(ChildSpec("d", actor=Worker, args=("d", log)))
    sup.stop()
    assert [name for what, name in log.items() if what == "stop"] == ["d", "c", "b", "a"]
    assert sup.exit_reason == ExitReason.NORMAL
    assert not sup.is_alive()
    with pytest.raises(SupervisorError, match="not running"):
        sup.which_children()
    sup.stop()


class Saboteur(Worker):
    """Crashes its sibling while being stopped."""

    def __init__(self, victim: list[pykka.ActorRef[Worker]]) -> None:
        super().__init__("saboteur")
        self.victim = victim

    def on_stop(self) -> None:
        self.victim[0].tell("crash")
        wait_until(lambda: not self.victim[0].is_alive(), "the victim to crash")


def test_children_exiting_while_the_supervisor_stops_are_not_restarted(start_sup) -> None:
    log, victim = Log(), []
    sup = start_sup(
        RestartPolicy(),
        [
            ChildSpec("b", actor=Worker, args=("b", log)),
            ChildSpec("saboteur", actor=Saboteur, args=(victim,)),
        ],
    )
    victim.append(current(sup, "b").ref)
    threads = threading.active_count()
    sup.stop()
    assert log.items() == [("start", "b")]
    assert threading.active_count() == threads - 3


def test_graceful_stop_of_a_blocked_thread_times_out_and_its_late_exit_is_no_crash(
    start_sup,
) -> None:
    exits, release = Exits(), threading.Event()
    sup = start_sup(RestartPolicy(), [ChildSpec("w", actor=Worker, shutdown=0.2, on_exit=exits)])
    threads = threading.active_count()
    old = current(sup, "w")
    old.ref.tell(("block", release, True))  # blocks, then raises once released
    sup.terminate_child("w")
    assert exits.reasons("w") == [ExitReason.KILLED]
    assert threading.active_count() == threads  # the thread is still blocked
    with pytest.raises(pykka.ActorDeadError):
        old.ref.tell("hello")
    release.set()
    wait_until(lambda: threading.active_count() == threads - 1, "the late thread to exit")
    assert exits.reasons("w") == [ExitReason.KILLED]
    assert current(sup, "w").alive is False


def test_brutal_kill_does_not_wait_for_a_blocked_thread(start_sup) -> None:
    exits, release = Exits(), threading.Event()
    sup = start_sup(
        RestartPolicy(),
        [
            ChildSpec("w", actor=Worker, shutdown="brutal_kill", on_exit=exits),
        ],
    )
    current(sup, "w").ref.tell(("block", release, False))
    sup.stop()
    assert exits.reasons("w") == [ExitReason.KILLED]
    release.set()


def test_calling_the_supervisor_from_its_own_hook_is_refused_not_a_deadlock(start_sup) -> None:
    seen: list[BaseException] = []
    holder: list[Supervisor] = []

    def on_exit(*_: object) -> None:
        try:
            holder[0].which_children()
        except SupervisorError as exc:
            seen.append(exc)

    sup = start_sup(RestartPolicy(), [ChildSpec("w", actor=Worker, on_exit=on_exit)])
    holder.append(sup)
    crash(sup, "w")
    assert "wait for itself" in str(seen[0])


@pytest.mark.timeout(60)
def test_no_threads_or_processes_leak_after_stop() -> None:
    threads, processes = threading.active_count(), descendants()
    sub = ChildSpec(
        "sub",
        actor=Supervisor,
        args=(RestartPolicy(),),
        kwargs={
            "children": [ChildSpec("w", actor=Worker), ChildSpec("p", process=sleep_forever)],
        },
    )
    sup = Supervisor.start(
        RestartPolicy(max_restarts=100),
        [
            ChildSpec("a", actor=Worker),
            ChildSpec("crasher", process=exit_with, args=(3, 0.2)),
            sub,
        ],
    )
    crash(sup, "a")
    wait_until(lambda: current(sup, "crasher").restarts >= 2, "process restarts")
    assert len(descendants() - processes) >= 2
    sup.stop()
    assert threading.active_count() == threads
    assert descendants() == processes


class CrashesAtOnce(pykka.ThreadingActor):
    """Crashes on a message it sends itself from on_start: it may die before
    the supervisor has even heard that it started."""

    def on_start(self) -> None:
        self.actor_ref.tell("crash")

    def on_receive(self, message: object) -> None:
        raise ValueError("crashed at once")


def test_many_threads_start_children_at_once_and_instant_crashes_are_caught(start_sup) -> None:
    exits = Exits()
    sup = start_sup(RestartPolicy(max_restarts=1000, within_seconds=60))
    specs = [
        ChildSpec(("c", i), actor=CrashesAtOnce, restart="transient", on_exit=exits)
        for i in range(40)
    ]
    starters = [threading.Thread(target=sup.start_child, args=(spec,)) for spec in specs]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join()
    for spec in specs:
        wait_until(lambda spec=spec: len(exits.reasons(spec.key)) >= 2, f"{spec.key} restarts")
        assert all(r.kind == "crash" for r in exits.reasons(spec.key))
    assert len({info.pid for info in sup.which_children()}) == 40


class Team(Supervisor):
    """A handle class of its own: it inherits the sub-tree declaration."""

    __slots__ = ()


def test_a_sub_tree_is_declared_by_its_class_and_its_actor_builds_that_handle(
    start_sup,
) -> None:
    sup = start_sup(
        RestartPolicy(),
        [
            ChildSpec(
                "team",
                actor=Team,
                args=(RestartPolicy(),),
                kwargs={"children": [ChildSpec("w", actor=Worker, args=("w",))]},
            ),
        ],
    )
    team = current(sup, "team")
    assert isinstance(team.ref, Team) and team.kind == "supervisor"
    assert team.ref.name == f"{sup.name}/team"
    assert current(team.ref, "w").alive
    assert sup.count_children() == {"specs": 1, "active": 1, "supervisors": 1, "workers": 0}
    top = Team.start(RestartPolicy())
    try:
        assert isinstance(top, Team) and top.is_alive()
    finally:
        top.stop()


def test_an_actor_class_cannot_declare_itself_a_sub_tree() -> None:
    class Pretender(Worker):
        child_kind = "supervisor"

    with pytest.raises(TypeError, match="ThreadingActor"):
        ChildSpec("k", actor=Pretender)


def test_calls_are_dataclass_messages_to_the_supervisor_actor(start_sup) -> None:
    sup = start_sup(RestartPolicy(), [ChildSpec("w", actor=Worker, args=("w",))])
    assert sup.actor_ref.ask(Lookup("w")) == sup.lookup("w")
    assert sup.actor_ref.ask(CountChildren()) == sup.count_children()
    with pytest.raises(SupervisorError, match="unknown message"):
        sup.actor_ref.ask(("lookup", "w"))  # the old tuple form
    assert sup.is_alive()  # an ask's error goes back to the asker
