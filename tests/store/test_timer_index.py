"""`TimerIndex.apply` on a real LMDB environment: cancels of a run with no timer are skipped,
and what it leaves is what cancelling each timer one by one would leave."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lmdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aion_actors.store import _projection as proj
from aion_actors.store._lmdb_records import TimerIndex

RUNS = (b"w1\0r1\0", b"w2\0r1\0")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[lmdb.Environment]:
    opened = lmdb.open(str(tmp_path / "timers"), max_dbs=2, sync=False)
    yield opened
    opened.close()


def index_of(env: lmdb.Environment) -> TimerIndex:
    return TimerIndex(*dbs_of(env))


def dbs_of(env: lmdb.Environment) -> tuple[Any, Any]:
    """The `timers` and `timer_ids` sub-databases, as the store names them."""
    return env.open_db(b"timers"), env.open_db(b"timer_ids")


class CountingTxn:
    """A real write transaction that counts the lookups `TimerIndex` makes through it."""

    def __init__(self, txn: lmdb.Transaction[bytes]) -> None:
        self.txn = txn
        self.pops = 0

    def pop(self, key: bytes, db: Any) -> bytes | None:
        self.pops += 1
        return self.txn.pop(key, db=db)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.txn, name)


def closed_activities(count: int) -> list[proj.TimerOp]:
    """The ops a fold gives for `count` closed activities: three cancels each."""
    return [
        (proj.CANCEL, f"{kind}:act-{n}", 0)
        for n in range(count)
        for kind in ("retry", "deadline", "attempt")
    ]


def test_cancels_of_a_run_without_timers_make_no_lookup_each(env: lmdb.Environment) -> None:
    index = index_of(env)
    with env.begin(write=True) as txn:
        index.schedule(txn, RUNS[1] + b"deadline:act-0", 5)  # another run's timer
        counting = CountingTxn(txn)
        index.apply(counting, RUNS[0], closed_activities(8))  # type: ignore[arg-type]
        assert counting.pops == 0
        index.apply(counting, RUNS[1], closed_activities(1))  # type: ignore[arg-type]
        assert counting.pops == 3  # a run with a timer looks each one up, as before
        assert not index.any_of(txn, RUNS[1])


OPS = st.lists(
    st.tuples(
        st.sampled_from(RUNS),
        st.sampled_from([proj.SCHEDULE, proj.CANCEL, proj.CANCEL, proj.CANCEL_ALL]),
        st.sampled_from(["deadline:a", "retry:a", "attempt:b"]),
        st.integers(1, 9),
    ),
    max_size=30,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(OPS, max_size=5))
def test_the_timers_left_are_those_cancelling_each_op_would_leave(
    env: lmdb.Environment, batches: list[list[tuple[bytes, int, str, int]]]
) -> None:
    timers, timer_ids = dbs_of(env)
    index = TimerIndex(timers, timer_ids)
    model: dict[bytes, int] = {}
    with env.begin(write=True) as txn:
        txn.drop(timers, delete=False)  # a fresh index for each example
        txn.drop(timer_ids, delete=False)
        for batch in batches:
            for run in RUNS:
                ops = [(op, timer, at) for r, op, timer, at in batch if r == run]
                index.apply(txn, run, ops)
                for op, timer, at in ops:
                    key = run + timer.encode()
                    if op == proj.SCHEDULE:
                        model[key] = at
                    elif op == proj.CANCEL:
                        model.pop(key, None)
                    else:
                        model = {k: v for k, v in model.items() if not k.startswith(run)}
        ids = {bytes(k): int.from_bytes(v, "big") for k, v in txn.cursor(db=timer_ids)}
        keys = txn.cursor(db=timers).iternext(values=False)
        due = {bytes(k[8:]): int.from_bytes(k[:8], "big") for k in keys}
    assert ids == model
    assert due == model
