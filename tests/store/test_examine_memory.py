"""`LmdbStore.examine()` (what `doctor` and a copy's last check run) holds one run at a time:
its memory does not grow with the store, and it still finds what belongs to no run."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from aion_actors.store.protocol import AppendRequest
from tests.store import damage


def _peak_of_examine(data: Path) -> int:
    with LmdbStore(data, readonly=True) as store:
        tracemalloc.start()
        try:
            report = store.examine()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert report.findings == []
    return peak


def test_examine_peak_memory_does_not_grow_with_the_number_of_runs(tmp_path: Path) -> None:
    """Before: every run's implied summary (~1.3 KiB a run here) and sets over all runs at
    once: 1,000 runs peaked at ~1.3 MiB, 4,000 at ~5.3 MiB."""
    peaks = []
    for count in (1_000, 4_000):
        data = tmp_path / f"runs-{count}"
        damage.write_runs(data, count)  # half closed, half open on a timer
        peaks.append(_peak_of_examine(data))
    small, large = peaks
    assert large < 1.5 * small + 256 * 1024, f"{small:,} B for 1,000 runs, {large:,} for 4,000"


def test_entries_of_each_index_that_belong_to_no_run_are_each_found_in_key_order(
    tmp_path: Path,
) -> None:
    """An entry no run's events account for is met walking its own index, not the runs."""
    data = tmp_path / "data"
    damage.write_runs(data, 6)
    with LmdbStore(data, durability="nosync") as store:  # a child whose parent is open
        parent = {"workflow_id": "order-01", "run_id": "run1"}
        kid = (
            ev.WorkflowStarted(
                workflow_type="order", input=0, run_id="r1", version="v1", parent=parent
            ),
            ev.WorkflowCompleted(result=None),
        )
        assert isinstance(store.append_batch([AppendRequest("kid", "r1", kid, 0)])[0], list)
    ghost = b"ghost\0g1"
    row = damage.search_row(data, b"D", 2)
    damage.put(data, b"search", row[: -len(damage.run_key(2))] + ghost, b"")
    damage.put(data, b"timers", damage.FIRE_AT.to_bytes(8, "big") + ghost + b"\0t", b"")
    damage.put(data, b"timer_ids", ghost + b"\0u", (5).to_bytes(8, "big"))
    damage.put(data, b"expiry", b"order\0" + bytes(8) + ghost, b"")
    damage.put(data, b"expiry", b"\xfd" + ghost, b"order\0" + bytes(8) + ghost)
    damage.put(data, b"expiry", b"\xfd" + damage.run_key(3), b"nowhere")
    damage.put(data, b"runs", damage.run_key(5), None)  # events, no entry
    with LmdbStore(data, readonly=True) as store:
        found = [str(finding) for finding in store.examine().findings]
    assert found == [
        "index: workflow 'order-05', run run5: the run has events but no index entry",
        "timers: timer 't' of workflow 'ghost', run g1: not in timer_ids with this time",
        "timers: timer 't' of workflow 'ghost', run g1: its run is not in the run index",
        "timers: timer 't5' of workflow 'order-05', run run5: its run is not in the run index",
        "timers: b'ghost\\x00g1\\x00u': in timer_ids but not in timers",
        "expiry: workflow 'order-03', run run3: the expiry index names an entry it does not hold",
        "search: workflow 'ghost', run g1: a search row (D) it has not",
    ]
