"""`Mailslot`: adoptions and exit notices reach the supervisor in waves, in order."""

from __future__ import annotations

import threading

import pykka
import pytest

from supervisor import ChildSpec, RestartPolicy
from supervisor._mailslot import Coalesced, Mailslot
from tests.supervisor.helpers import Worker, wait_until


def test_a_wave_of_puts_tells_the_actor_once_and_is_taken_whole_in_order() -> None:
    told: list[object] = []
    slot = Mailslot(told.append)
    for item in range(5):
        slot.put(item)
    assert told == [Coalesced(slot)]
    assert slot.take() == [0, 1, 2, 3, 4]
    assert slot.take() == []


def test_a_put_after_a_take_tells_the_actor_again() -> None:
    told: list[object] = []
    slot = Mailslot(told.append)
    slot.put("a")
    assert slot.take() == ["a"]
    slot.put("b")
    assert told == [Coalesced(slot), Coalesced(slot)]
    assert slot.take() == ["b"]


def test_a_put_to_a_stopped_actor_raises_and_keeps_nothing() -> None:
    def dead(message: object) -> None:
        raise pykka.ActorDeadError("stopped")

    slot = Mailslot(dead)
    with pytest.raises(pykka.ActorDeadError):
        slot.put("lost")
    assert slot.take() == []


@pytest.mark.timeout(60)
def test_children_started_and_stopped_from_many_threads_are_all_adopted_then_forgotten(
    start_sup,
) -> None:
    sup = start_sup(RestartPolicy(), forget_exited=True)
    barrier = threading.Barrier(8)

    def churn(thread: int) -> None:
        barrier.wait()
        for n in range(25):
            info = sup.start_child(ChildSpec((thread, n), actor=Worker, restart="transient"))
            info.ref.tell("stop")  # type: ignore[attr-defined]

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until(lambda: sup.count_children()["specs"] == 0, "every exited child to be forgotten")
    assert sup.start_child(ChildSpec((0, 0), actor=Worker)).alive
