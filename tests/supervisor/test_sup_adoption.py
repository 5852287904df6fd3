"""Children a handle starts are registered, not told: quiet exits never wake the supervisor."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pykka
import pytest

from supervisor import ChildSpec, Dispatcher, ExitReason, PooledActor, RestartPolicy, Supervisor
from supervisor._actor import SupervisorActor
from supervisor._adoption import Adoptions, Closed, Quiet, Wake
from supervisor._incarnation import Incarnation
from tests.supervisor.helpers import TIMEOUT, Exits, Worker, current, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def dispatcher() -> Iterator[Dispatcher]:
    pool = Dispatcher(2, name="adopt-pool")
    yield pool
    pykka.ActorRegistry.stop_all(timeout=TIMEOUT)
    pool.close(TIMEOUT)


class Job(PooledActor):
    """Does one thing when told, then stops (or crashes)."""

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise ValueError("job crashed")
        if message == "done":
            self.stop()
        return message


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every message any supervisor actor handles from now on."""
    seen: list[object] = []
    handle = SupervisorActor.on_receive

    def counted(self: SupervisorActor[Any], message: Any) -> Any:
        seen.append(message)
        return handle(self, message)

    monkeypatch.setattr(SupervisorActor, "on_receive", counted)
    return seen


def test_pooled_children_that_end_quietly_never_wake_the_supervisor(
    dispatcher: Dispatcher, start_sup: Any, received: list[object]
) -> None:
    exits, threads = Exits(), set()

    def on_exit(info: Any, reason: ExitReason, exc: BaseException | None) -> None:
        threads.add(threading.current_thread().name)
        exits(info, reason, exc)

    sup: Supervisor = start_sup(RestartPolicy(restart="transient"), forget_exited=True)
    for n in range(50):
        info = sup.start_child(ChildSpec(key=n, actor=Job, args=(dispatcher,), on_exit=on_exit))
        info.ref.tell("done")
    wait_until(lambda: len(exits.calls) == 50, "50 quiet exits")
    assert received == []  # neither the 50 starts nor the 50 exits told it anything
    assert all(reason == ExitReason.NORMAL for *_, reason, _ in exits.calls)
    assert threads and all(name.startswith("adopt-pool") for name in threads)
    # the keys are free again at once, and the supervisor holds no record of them
    sup.start_child(ChildSpec(key=0, actor=Job, args=(dispatcher,)))
    assert [child.key for child in sup.which_children()] == [0]


def test_a_crash_of_a_registered_pooled_child_is_still_restarted_by_the_supervisor(
    dispatcher: Dispatcher, start_sup: Any
) -> None:
    exits, restarts = Exits(), threading.Event()
    sup: Supervisor = start_sup(
        RestartPolicy(restart="transient", max_restarts=3, within_seconds=10), forget_exited=True
    )
    info = sup.start_child(
        ChildSpec(
            key="job",
            actor=Job,
            args=(dispatcher,),
            on_exit=exits,
            on_restart=lambda *_: restarts.set(),
        )
    )
    info.ref.tell("crash")
    assert restarts.wait(TIMEOUT)
    wait_until(lambda: current(sup, "job").alive and current(sup, "job").pid != info.pid, "restart")
    assert exits.reasons("job")[0].abnormal
    assert current(sup, "job").restarts == 1


def test_a_permanent_pooled_child_that_exits_normally_is_restarted(
    dispatcher: Dispatcher, start_sup: Any
) -> None:
    sup: Supervisor = start_sup(RestartPolicy(max_restarts=3, within_seconds=10))
    info = sup.start_child(ChildSpec(key="job", actor=Job, args=(dispatcher,)))
    info.ref.tell("done")
    wait_until(lambda: current(sup, "job").pid != info.pid, "the permanent child to restart")
    assert current(sup, "job").restarts == 1


def test_which_children_lists_registered_children_in_start_order(
    dispatcher: Dispatcher, start_sup: Any
) -> None:
    sup: Supervisor = start_sup(RestartPolicy())
    sup.start_child(ChildSpec(key="a", actor=Job, args=(dispatcher,)))
    sup.start_child(ChildSpec(key="b", actor=Worker))
    sup.start_child(ChildSpec(key="c", actor=Job, args=(dispatcher,)))
    assert [child.key for child in sup.which_children()] == ["a", "b", "c"]
    assert sup.count_children()["active"] == 3


def test_stopping_the_supervisor_stops_the_children_it_never_took_over(
    dispatcher: Dispatcher,
) -> None:
    exits = Exits()
    sup = Supervisor.start(RestartPolicy())
    refs = [
        sup.start_child(ChildSpec(key=n, actor=Job, args=(dispatcher,), on_exit=exits)).ref
        for n in range(3)
    ]
    sup.stop()
    assert not any(ref.is_alive() for ref in refs)
    assert [key for key, *_ in exits.calls] == [2, 1, 0]  # newest first
    assert all(reason == ExitReason.SHUTDOWN for *_, reason, _ in exits.calls)


class _Exited(Incarnation):
    def __init__(self, key: object, reason: ExitReason) -> None:
        super().__init__(key, 7, None)
        self._reason = reason
        self.done.set()

    def exit_reason(self) -> tuple[ExitReason, BaseException | None]:
        return self._reason, None


def _adoptions(*, forget_exited: bool = True) -> tuple[Adoptions, set[Any]]:
    claims: set[Any] = set()
    return Adoptions(
        threading.Lock(), claims, forget_exited=forget_exited, clock=lambda: 5.0
    ), claims


def test_an_exit_during_its_own_launch_is_settled_by_the_launcher_once() -> None:
    adoptions, claims = _adoptions()
    spec = ChildSpec(key="k", actor=Job)
    claims.add("k")
    adoptions.begin(spec, "transient", pooled=True)
    inc = _Exited("k", ExitReason.NORMAL)
    assert adoptions.exited(inc) is None  # its launcher has not registered it yet
    settled = adoptions.launched(spec, inc)
    assert isinstance(settled, Quiet) and settled.reason == ExitReason.NORMAL
    assert claims == set() and adoptions.take() == []


def test_only_a_quiet_exit_of_a_pooled_child_is_bookkept_without_the_supervisor() -> None:
    for restart, pooled, forget, reason in [
        ("transient", True, True, ExitReason.crash(ValueError("x"))),  # a crash
        ("permanent", True, True, ExitReason.NORMAL),  # wants a restart
        ("transient", True, False, ExitReason.NORMAL),  # its record is kept
        ("transient", False, True, ExitReason.NORMAL),  # a thread to join
    ]:
        adoptions, claims = _adoptions(forget_exited=forget)
        spec = ChildSpec(key="k", actor=Job)
        claims.add("k")
        adoptions.begin(spec, restart, pooled=pooled)  # type: ignore[arg-type]
        inc = _Exited("k", reason)
        assert adoptions.launched(spec, inc) is None
        assert isinstance(adoptions.exited(inc), Wake)
        assert claims == {"k"}
        assert adoptions.take() == [(spec, inc, 5.0)]  # the supervisor decides


def test_a_child_launched_while_the_supervisor_stops_is_refused() -> None:
    adoptions, _ = _adoptions()
    spec = ChildSpec(key="k", actor=Job)
    adoptions.begin(spec, "transient", pooled=True)
    assert adoptions.take(closing=True) == []
    assert isinstance(adoptions.launched(spec, _Exited("k", ExitReason.NORMAL)), Closed)
