"""Strategies and restart types, driven by real crashes of plain Pykka actors."""

from __future__ import annotations

import pykka
import pytest

from supervisor import ChildSpec, ExitReason, RestartPolicy
from tests.supervisor.helpers import Exits, Log, Worker, crash, current, restarted, wait_until

MANY = RestartPolicy(max_restarts=100, within_seconds=60)


def specs(log: Log, *names: str, **kwargs: object) -> list[ChildSpec]:
    return [ChildSpec(name, actor=Worker, args=(name, log), **kwargs) for name in names]


def pids(sup: object, *keys: str) -> list[int | None]:
    return [current(sup, key).pid for key in keys]  # type: ignore[arg-type]


def test_one_for_one_restarts_only_the_crashed_child(start_sup) -> None:
    log = Log()
    sup = start_sup(MANY, specs(log, "a", "b", "c"))
    before = pids(sup, "a", "b", "c")
    new_b = crash(sup, "b")
    assert pids(sup, "a", "c") == [before[0], before[2]]
    assert new_b.pid not in before
    assert new_b.ref.ask("hello") == ("b", "hello")
    assert [item for item in log.items() if item[0] == "stop"] == []


def test_one_for_all_stops_others_in_reverse_order_and_restarts_all_in_start_order(
    start_sup,
) -> None:
    log = Log()
    sup = start_sup(RestartPolicy("one_for_all", 10, 60), specs(log, "a", "b", "c"))
    before = pids(sup, "a", "b", "c")
    crash(sup, "b")
    wait_until(lambda: all(i.alive for i in sup.which_children()), "all children back")
    after = pids(sup, "a", "b", "c")
    assert not set(before) & set(after)
    assert log.items()[3:] == [
        ("stop", "c"),
        ("stop", "a"),
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
    ]
    assert [i.key for i in sup.which_children()] == ["a", "b", "c"]


def test_rest_for_one_restarts_the_crashed_child_and_the_ones_started_after_it(
    start_sup,
) -> None:
    log = Log()
    sup = start_sup(RestartPolicy("rest_for_one", 10, 60), specs(log, "a", "b", "c", "d"))
    before = pids(sup, "a", "b", "c", "d")
    crash(sup, "b")
    wait_until(lambda: all(i.alive for i in sup.which_children()), "all children back")
    after = pids(sup, "a", "b", "c", "d")
    assert after[0] == before[0]
    assert not set(before[1:]) & set(after[1:])
    assert log.items()[4:] == [
        ("stop", "d"),
        ("stop", "c"),
        ("start", "b"),
        ("start", "c"),
        ("start", "d"),
    ]


def test_permanent_child_is_restarted_even_after_a_normal_exit(start_sup) -> None:
    exits = Exits()
    sup = start_sup(MANY, [ChildSpec("p", actor=Worker, restart="permanent", on_exit=exits)])
    old = current(sup, "p")
    old.ref.tell("stop")
    new = restarted(sup, "p", old.pid)
    assert new.restarts == 1
    assert exits.reasons("p") == [ExitReason.NORMAL]


def test_transient_child_is_restarted_after_a_crash_only(start_sup) -> None:
    exits = Exits()
    sup = start_sup(MANY, [ChildSpec("t", actor=Worker, restart="transient", on_exit=exits)])
    crashed = crash(sup, "t")
    assert exits.reasons("t")[0].kind == "crash"
    crashed.ref.tell("stop")
    wait_until(lambda: not current(sup, "t").alive, "the transient child to stop")
    info = current(sup, "t")
    assert (info.pid, info.ref, info.restarts) == (None, None, 1)
    assert exits.reasons("t")[1] == ExitReason.NORMAL
    assert sup.count_children() == {"specs": 1, "active": 0, "supervisors": 0, "workers": 1}


def test_temporary_child_is_never_restarted_and_its_spec_is_forgotten(start_sup) -> None:
    exits = Exits()
    sup = start_sup(MANY, [ChildSpec("tmp", actor=Worker, restart="temporary", on_exit=exits)])
    current(sup, "tmp").ref.tell("crash")
    wait_until(lambda: sup.lookup("tmp") is None, "the temporary child to be forgotten")
    assert [r.kind for r in exits.reasons("tmp")] == ["crash"]


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
def test_temporary_sibling_is_removed_not_restarted_by_a_group_restart(
    start_sup, strategy: str
) -> None:
    log = Log()
    sup = start_sup(
        RestartPolicy(strategy, 10, 60),  # type: ignore[arg-type]
        [
            ChildSpec("a", actor=Worker, args=("a", log)),
            ChildSpec("tmp", actor=Worker, args=("tmp", log), restart="temporary"),
            ChildSpec("c", actor=Worker, args=("c", log)),
        ],
    )
    crash(sup, "a")
    wait_until(lambda: all(i.alive for i in sup.which_children()), "the group back")
    assert [i.key for i in sup.which_children()] == ["a", "c"]
    assert log.count("start", "tmp") == 1
    assert log.count("stop", "tmp") == 1


def test_an_exit_that_needs_no_restart_triggers_no_group_restart(start_sup) -> None:
    log = Log()
    sup = start_sup(
        RestartPolicy("one_for_all", 10, 60),
        [
            ChildSpec("a", actor=Worker, args=("a", log)),
            ChildSpec("t", actor=Worker, args=("t", log), restart="transient"),
            ChildSpec("tmp", actor=Worker, args=("tmp", log), restart="temporary"),
        ],
    )
    a_pid = current(sup, "a").pid
    current(sup, "t").ref.tell("stop")
    current(sup, "tmp").ref.tell("crash")
    wait_until(lambda: sup.lookup("tmp") is None and not current(sup, "t").alive, "exits")
    assert current(sup, "a").pid == a_pid
    assert log.count("start", "a") == 1


def test_exception_answered_to_an_ask_is_not_a_crash(start_sup) -> None:
    sup = start_sup(MANY, [ChildSpec("w", actor=Worker)])
    info = current(sup, "w")
    with pytest.raises(ValueError, match="w crashed"):
        info.ref.ask("crash")
    assert info.ref.ask("still") == ("w", "still")
    assert current(sup, "w").pid == info.pid


def test_every_incarnation_gets_a_new_pid_and_keeps_its_key(start_sup) -> None:
    sup = start_sup(MANY, [ChildSpec("k", actor=Worker), ChildSpec("j", actor=Worker)])
    seen = [current(sup, "k").pid, current(sup, "j").pid]
    for _ in range(5):
        info = crash(sup, "k")
        assert info.key == "k"
        seen.append(info.pid)
    assert len(set(seen)) == len(seen)
    assert current(sup, "k").restarts == 5


def test_messages_to_the_old_ref_fail_fast_with_a_dead_actor_error(start_sup) -> None:
    sup = start_sup(MANY, [ChildSpec("w", actor=Worker)])
    old = current(sup, "w")
    crash(sup, "w")
    with pytest.raises(pykka.ActorDeadError):
        old.ref.ask("anyone?", timeout=10)
    with pytest.raises(pykka.ActorDeadError):
        old.ref.tell("anyone?")


def test_forget_exited_drops_a_transient_child_that_exits_normally(start_sup) -> None:
    sup = start_sup(MANY, [ChildSpec("t", actor=Worker, restart="transient")], forget_exited=True)
    crashed = crash(sup, "t")
    crashed.ref.tell("stop")
    wait_until(lambda: sup.lookup("t") is None, "the child to be forgotten")
    assert sup.count_children()["specs"] == 0
