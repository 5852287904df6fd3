"""The store's fence: a write under a partition's stale epoch is refused whole, atomically."""

from __future__ import annotations

import time

import pytest

from aion_actors import OwnershipLost
from aion_actors.core import events as ev
from aion_actors.store import AppendRequest
from aion_actors.store.postgres import partition_of
from aion_actors.store.postgres.nodestore import NOT_HELD, NodeSettings, NodeStore
from tests.store.helpers import started


def _started(run_id: str) -> ev.Event:
    return started(run_id=run_id)


@pytest.mark.timeout(60)
def test_a_write_under_a_stale_epoch_raises_ownership_lost_and_records_nothing(
    pg_url: str,
) -> None:
    p = partition_of("w", 64)
    with (
        NodeStore(pg_url, NodeSettings.of("old")) as old,
        NodeStore(pg_url, NodeSettings.of("new")) as new,
    ):
        old_leases, new_leases = old.lease_table(), new.lease_table()
        got = old_leases.claim([p], 1)  # a lease of 1 ns: expired at once
        old.fence.hold(got)
        old.append("w", "r1", [_started("r1")], 0)  # the owner writes
        time.sleep(0.01)
        taken = new_leases.claim([p], 10**10)
        assert taken == {p: got[p] + 1}
        new.fence.hold(taken)
        lost: list[OwnershipLost] = []
        old.fence.on_lost = lost.append
        with pytest.raises(OwnershipLost, match=rf"node 'old' lost partition {p}.*'new' owns it"):
            old.append("w", "r2", [_started("r2")], 0)
        with pytest.raises(OwnershipLost):
            old.schedule_timer("w", "r1", "t1", time.time_ns())
        # told of each refusal: the partition moved on, then a write it no longer holds
        assert [(e.partition, e.held_epoch is None) for e in lost] == [(p, False), (p, True)]
        assert old.get_run("w", "r2") is None and new.due_timers(1 << 62) == []
        # a batch mixing partitions: only the lost partition's request is refused
        other = next(f"x{i}" for i in range(1000) if partition_of(f"x{i}", 64) != p)
        old.fence.hold(old_leases.claim([partition_of(other, 64)], 10**10))
        results = old.append_batch(
            [
                AppendRequest("w", "r3", (_started("r3"),), 0),
                AppendRequest(other, "r4", (_started("r4"),), 0),
            ]
        )
        assert isinstance(results[0], OwnershipLost) and not isinstance(results[1], Exception)
        new.append("w", "r5", [_started("r5")], 0)  # the new owner writes
        assert new.get_run("w", "r5") is not None
        old_leases.close()
        new_leases.close()


@pytest.mark.timeout(60)
def test_an_append_made_under_an_earlier_epoch_is_refused_even_when_the_node_holds_it_again(
    pg_url: str,
) -> None:
    """(A node's partition left it and came back, at a new epoch: a write its earlier
    tenure made is refused — a run incarnation recovered since is the run's one writer —
    while the partition stays held and a write of the new tenure goes through.)"""
    p = partition_of("w", 64)
    with NodeStore(pg_url, NodeSettings.of("solo")) as store:
        leases = store.lease_table()
        store.fence.hold(leases.claim([p], 10**10))
        first = store.epoch_of("w")
        store.append("w", "r1", [_started("r1")], 0)
        lost: list[OwnershipLost] = []
        store.fence.on_lost = lost.append
        leases.release(store.fence.let_go([p]))  # it leaves this node ...
        assert store.epoch_of("w") == NOT_HELD
        store.fence.hold(leases.claim([p], 10**10))  # ... and comes back
        assert store.epoch_of("w") == first + 1
        signal = ev.SignalReceived(name="item", payload="x")
        old, new = (AppendRequest("w", "r1", (signal,), 1, e) for e in (first, first + 1))
        [refused] = store.append_batch([old])
        assert isinstance(refused, OwnershipLost)
        assert (refused.held_epoch, refused.epoch, refused.owner) == (first, first + 1, "solo")
        assert store.head("w", "r1") == 1 and lost == [] and p in store.fence.held()
        [written] = store.append_batch([new])
        assert not isinstance(written, Exception) and store.head("w", "r1") == 2
        leases.close()
