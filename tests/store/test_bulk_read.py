"""Many histories in one read: `LmdbStore.read_many` (one read transaction) and
`PostgresStore.read_many` (one query) answer each run as `read` does, a damaged history
costing only its place; `store.bulk` asks any other store run by run; startup recovery
reads the open runs' histories in batches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest

from aion_actors import Engine
from aion_actors.core import AionError, CorruptEvent, Event
from aion_actors.core import events as ev
from aion_actors.runtime.runs import recovery
from aion_actors.store import LmdbStore, MemoryStore
from aion_actors.store.bulk import read_histories
from aion_actors.store.postgres import PostgresStore
from aion_actors.store.protocol import AppendRequest
from tests.store import damage


def _keys(count: int) -> list[tuple[str, str]]:
    return [(f"order-{i:02}", f"run{i}") for i in range(count)]


def test_read_many_answers_each_run_as_read_does(tmp_path: Path) -> None:
    damage.write_runs(tmp_path / "data", 10)
    keys = [*_keys(10), ("order-99", "run99")]  # a run it never had: []
    with LmdbStore(tmp_path / "data") as store:
        assert store.read_many(keys) == [store.read(*key) for key in keys]
        assert store.read_many(keys)[-1] == []


def test_a_damaged_history_is_its_error_in_its_place_and_the_others_are_read(
    tmp_path: Path,
) -> None:
    damage.write_runs(tmp_path / "data", 6)
    damage.put(
        tmp_path / "data",
        b"events",
        damage.run_key(3) + b"\0" + (2).to_bytes(8, "big"),
        b"\xc1 not msgpack",
    )
    with LmdbStore(tmp_path / "data") as store:
        found = store.read_many(_keys(6))
        assert isinstance(found[3], CorruptEvent) and found[3].seq == 2
        intact = [0, 1, 2, 4, 5]
        assert [found[i] for i in intact] == [store.read(*_keys(6)[i]) for i in intact]
        again = read_histories(store, _keys(6))
        assert [again[i] for i in intact] == [found[i] for i in intact]
        assert isinstance(again[3], CorruptEvent) and again[3].seq == 2


def test_a_store_without_read_many_is_read_run_by_run_with_the_same_answers() -> None:
    store = MemoryStore()
    started = ev.WorkflowStarted(workflow_type="order", input=1, run_id="run0", version="v1")
    store.append_batch([AppendRequest("order-00", "run0", (started,), 0)])
    found = read_histories(store, [("order-00", "run0"), ("order-01", "run1")])
    assert found == [store.read("order-00", "run0"), []]


class _Counting(LmdbStore):
    """The real LMDB store, counting how recovery reads it."""

    reads = 0
    batches: ClassVar[list[int]] = []

    def read(
        self, workflow_id: str, run_id: str, from_seq: int = 1, until: int | None = None
    ) -> list[Event]:
        _Counting.reads += 1
        return super().read(workflow_id, run_id, from_seq, until)

    def read_many(self, runs: Sequence[tuple[str, str]]) -> list[list[Event] | AionError]:
        _Counting.batches.append(len(runs))
        return super().read_many(runs)


@pytest.mark.timeout(60)
def test_recovery_reads_the_open_runs_histories_in_batches_not_run_by_run(
    tmp_path: Path,
) -> None:
    batch = getattr(recovery, "READ_BATCH", 256)
    runs = 2 * batch + 20  # half of them open: each waits on a timer
    damage.write_runs(tmp_path / "data", runs)
    _Counting.reads = 0
    _Counting.batches.clear()
    with Engine(_Counting(tmp_path / "data"), workers=1):
        opened_reads, batches = _Counting.reads, list(_Counting.batches)
    assert opened_reads == 0
    assert batches == [batch, runs // 2 - batch]


def _write_postgres(url: str, count: int) -> None:
    with PostgresStore(url) as store:
        requests = []
        for i in range(count):
            started = ev.WorkflowStarted(
                workflow_type="order", input=i, run_id=f"run{i}", version="v1"
            )
            events = (started, *[ev.SignalReceived(name="s", payload=k) for k in range(i)])
            requests.append(AppendRequest(f"order-{i:02}", f"run{i}", events, 0))
        assert all(isinstance(r, list) for r in store.append_batch(requests))


@pytest.mark.timeout(60)
def test_postgres_read_many_answers_each_run_as_read_does_in_one_query(pg_url: str) -> None:
    _write_postgres(pg_url, 8)
    keys = [*reversed(_keys(8)), ("order-99", "run99")]  # in the order asked; unknown: []
    with PostgresStore(pg_url) as store:
        assert store.read_many(keys) == [store.read(*key) for key in keys]
        assert store.read_many(keys)[-1] == [] and store.read_many([]) == []
        store.delete_run("order-03", "run3")  # (open runs are not deleted: nothing changes)
    with psycopg.connect(pg_url) as conn:  # a damaged event costs only its run
        conn.execute(
            "UPDATE aion.events SET data = '\\xc1'::bytea "
            "WHERE workflow_id = 'order-05' AND seq = 3"
        )
        conn.execute("DELETE FROM aion.events WHERE workflow_id = 'order-06' AND seq = 6")
    with PostgresStore(pg_url, readonly=True) as store:
        found = store.read_many(_keys(8))
        assert isinstance(found[5], CorruptEvent) and found[5].seq == 3
        assert isinstance(found[6], CorruptEvent) and found[6].seq == 6
        intact = [0, 1, 2, 3, 4, 7]
        assert [found[i] for i in intact] == [store.read(*_keys(8)[i]) for i in intact]
