"""The Dispatcher's threads and their turns: one `Turn` per thread, begun again per turn,
and a loan to another thread past a stall that ends with the stalled turn."""

from __future__ import annotations

import threading
from typing import Any

import pykka

from supervisor import Dispatcher, PooledActor
from tests.supervisor.helpers import TIMEOUT, wait_until


def test_a_dispatcher_thread_begins_its_one_turn_again_for_each_turn_and_a_loan_ends_with_it() -> (
    None
):
    """One `Turn` per thread, begun again per turn: each has its own start time, and a
    turn lent past a stall leaves the next turn on that thread unlent."""
    pool = Dispatcher(1, name="turns", stall_after=0.02)
    release = threading.Event()
    seen: list[tuple[object, float, bool]] = []  # the Turn itself: kept, its id not reused
    try:

        class Notes(PooledActor):
            def on_receive(self, message: Any) -> None:
                turn = pool._turns[threading.get_ident()]  # noqa: SLF001 - what the watchdog sees
                seen.append((turn, turn.started, turn.lent))
                if message == "stall":
                    wait_until(lambda: turn.lent, "the watchdog to lend the stalled turn")

        def between_turns() -> None:  # the next message starts a turn of its own
            wait_until(lambda: not pool._turns, "the turn to end")  # noqa: SLF001

        ref = Notes.start(pool)
        ref.ask("first", timeout=TIMEOUT)
        between_turns()
        release.set()
        ref.ask("stall", timeout=TIMEOUT)
        for message in ("after", "again"):
            between_turns()
            ref.ask(message, timeout=TIMEOUT)
        pykka.ActorRegistry.stop_all(timeout=TIMEOUT)
    finally:
        release.set()
        pool.close(TIMEOUT)
    first, stall, after, again = seen
    assert first[0] is stall[0] is after[0] is again[0]  # one Turn, begun again: none built
    assert not after[2] and not again[2]  # the loan ended with the stalled turn
    assert first[1] < stall[1] < after[1] < again[1]  # each turn its own start time
