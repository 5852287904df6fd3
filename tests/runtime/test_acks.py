"""`Ack.keep`: a request the store could not record yet is kept for later exactly when its
caller gave up waiting (told "it is not lost"), else its caller hears why — never both,
never neither, however the caller's timeout and the failed write race."""

from __future__ import annotations

import threading

import pytest

from aion_actors.core import StoreUnavailable
from aion_actors.runtime.acks import Ack

DOWN = StoreUnavailable("the test's store", "it refused a write")


def test_a_request_whose_caller_gave_up_is_kept_unresolved_and_its_outcome_told_once() -> None:
    ack, told = Ack(), []
    assert ack.abandon(told.append)
    assert ack.keep(DOWN) and ack.keep(DOWN)  # (kept again should its next write fail)
    assert not ack.done() and told == []
    assert ack.resolve() and told == [None]  # recorded later
    assert not ack.resolve(DOWN) and told == [None]


def test_a_caller_still_waiting_hears_the_error_and_cannot_abandon_it_afterwards() -> None:
    ack, told = Ack(), []
    assert not ack.keep(DOWN)
    assert not ack.abandon(told.append)  # resolved already: the caller reads the outcome
    with pytest.raises(StoreUnavailable):
        ack.wait(0)
    assert told == [] and not ack.keep(DOWN)


def _race() -> tuple[bool, bool, Ack, list[object]]:
    """A caller giving up on `ack` as its run's write fails: (kept, abandoned, ack, told)."""
    ack, told, abandoned = Ack(), [], []
    start = threading.Barrier(2)

    def caller() -> None:
        start.wait()
        abandoned.append(ack.abandon(told.append))

    thread = threading.Thread(target=caller)
    thread.start()
    start.wait()
    kept = ack.keep(DOWN)
    thread.join()
    return kept, abandoned[0], ack, told


def test_abandon_and_keep_racing_decide_one_outcome_each_time() -> None:
    for _ in range(2000):
        kept, abandoned, ack, told = _race()
        heard_error = not abandoned  # its caller read the outcome: the error
        assert kept != heard_error, (kept, abandoned)
        assert told == [] and ack.done() == heard_error
