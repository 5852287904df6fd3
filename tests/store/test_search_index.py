"""The LMDB search index: built for directories from before it, examined, rebuilt, forgotten."""

from __future__ import annotations

from pathlib import Path

import lmdb
import pytest

from aion_actors.core import WorkflowStatus, unpackb
from aion_actors.core import events as ev
from aion_actors.store import AppendRequest, LmdbStore, RunQuery
from aion_actors.store import _lmdb_search as search_index
from tests.store import damage


def ids(store: LmdbStore, **filters: object) -> list[str]:
    return [run.workflow_id for run in store.search(RunQuery.of(**filters))]  # type: ignore[arg-type]


def strip_the_search_index(data: Path) -> None:
    """Make `data` what a version without search wrote: no search sub-databases."""
    env = damage.raw(data)
    try:
        with env.begin(write=True) as txn:
            for name in search_index.DB_NAMES:
                txn.drop(env.open_db(name, txn=txn), delete=True)
            assert txn.delete(search_index.BUILT_KEY, db=env.open_db(b"meta", txn=txn))
    finally:
        env.close()


def sub_databases(data: Path) -> set[bytes]:
    env = lmdb.open(str(data), max_dbs=8, readonly=True, lock=False)
    try:
        with env.begin() as txn:
            return {key for key, _ in txn.cursor()}
    finally:
        env.close()


def test_a_directory_from_before_the_index_lists_correctly_read_only_and_after_open(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    damage.write_runs(data)
    with LmdbStore(data) as store:
        expected = ids(store, status="running")
    strip_the_search_index(data)
    assert not sub_databases(data) & set(search_index.DB_NAMES)
    with LmdbStore(data, readonly=True) as store:  # nothing may be written: it scans
        assert ids(store, status="running") == expected
        assert len(ids(store, limit=5)) == 5
    with LmdbStore(data) as store:  # a writer builds the index on open
        assert store.examine().findings == []
        assert ids(store, status="running") == expected and len(expected) == damage.RUNS // 2
        assert ids(store, workflow_type="order", limit=3) == ids(store)[:3]
    assert sub_databases(data) >= set(search_index.DB_NAMES)


def test_examine_finds_a_lost_search_row_and_rebuild_index_restores_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    damage.write_runs(data)
    with LmdbStore(data) as store:
        assert store.examine().findings == []
        row = next(
            key
            for key in _search_rows(store)
            if key.startswith(b"S") and key.endswith(damage.run_key(3))
        )
    damage.put(data, b"search", row, None)
    with LmdbStore(data) as store:
        found = [(f.part, f.where) for f in store.examine().findings]
        assert found == [("search", "workflow 'order-03', run run3")]
        assert "order-03" in ids(store, status="running")  # the status's count is one more
        store.rebuild_index()
        assert store.examine().findings == []
        assert "order-03" in ids(store, status="running")


def _search_rows(store: LmdbStore) -> list[bytes]:
    with store._reading() as txn:  # noqa: SLF001 - the test reads the raw rows
        return list(txn.cursor(db=store._dbs[b"search"]).iternext(values=False))  # noqa: SLF001


def test_forget_removes_every_row_and_count_of_a_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with LmdbStore(data, durability="nosync") as store:
        for i in range(3):
            start = ev.WorkflowStarted(workflow_type="t", input=[], run_id="r", version="v")
            attrs = ev.AttributesSet(attributes={"customer": f"c-{i % 2}", "tags": ["a", "b"]})
            store.append(f"w{i}", "r", [start, attrs], 0)
        gone = store.get_run("w1", "r")
        assert gone is not None

        def delete_run(txn: lmdb.Transaction[bytes]) -> None:  # what a pruner does
            key = b"w1\0r"
            summary = unpackb(txn.get(key, db=store._dbs[b"runs"]))  # noqa: SLF001
            search_index.forget(txn, store._dbs, summary)  # noqa: SLF001
            txn.delete(key, db=store._dbs[b"runs"])  # noqa: SLF001
            for seq in (1, 2):
                txn.delete(key + b"\0" + seq.to_bytes(8, "big"), db=store._dbs[b"events"])  # noqa: SLF001

        store._write(delete_run)  # noqa: SLF001 - as the retention helper will
        assert ids(store) == ["w2", "w0"]
        assert ids(store, attributes={"tags": "a"}) == ["w2", "w0"]
        assert ids(store, attributes={"customer": "c-1"}) == []
        assert store.examine().findings == []


def test_counts_written_once_per_batch_agree_with_the_rows_when_one_batch_opens_and_closes_runs(
    tmp_path: Path,
) -> None:

    def start(i: int) -> ev.WorkflowStarted:
        return ev.WorkflowStarted(workflow_type=f"t{i % 2}", input=[], run_id="r", version="v")

    with LmdbStore(tmp_path / "data", durability="nosync") as store:
        store.append_batch([AppendRequest(f"w{i}", "r", (start(i),), 0) for i in range(20)])
        # one batch: ten runs close, ten new ones open, one request fails its check
        closing = [
            AppendRequest(f"w{i}", "r", (ev.WorkflowCompleted(result=i),), 1) for i in range(10)
        ]
        opening = [AppendRequest(f"n{i}", "r", (start(i),), 0) for i in range(10)]
        conflict = [AppendRequest("w19", "r", (ev.WorkflowCompleted(),), 5)]
        store.append_batch(closing + opening + conflict)
        assert len(ids(store)) == 30
        assert len(ids(store, status="completed")) == 10
        assert len(ids(store, status="running")) == 20
        assert len(ids(store, workflow_type="t0")) == 15
        assert store.examine().findings == []


def test_runs_of_one_status_list_what_a_scan_of_the_run_index_lists_in_its_order(
    tmp_path: Path,
) -> None:
    """`runs(status=...)` reads that status's index rows (recovery asks for the few
    continued-as-new and reset runs among all the closed ones); the same runs, same order."""
    data = tmp_path / "data"
    damage.write_runs(data)
    with LmdbStore(data) as store:
        every = store.runs()
        for status in WorkflowStatus:
            assert store.runs(status=status) == [r for r in every if r.status == status]
        assert store.runs(status=WorkflowStatus.RUNNING, workflow_type="nope") == []
    strip_the_search_index(data)
    with LmdbStore(data, readonly=True) as store:  # no index to read: it scans
        assert store.runs(status=WorkflowStatus.COMPLETED) == [
            r for r in every if r.status == WorkflowStatus.COMPLETED
        ]


def test_a_status_change_moves_only_the_status_row_and_the_index_agrees_with_the_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """queued -> running -> completed (a queued run's life): each move rewrites the
    status row alone — the other prefixes (every run, its type, its attributes) are
    not computed again — and rows and counts agree with the run index after each."""
    with LmdbStore(tmp_path / "data", durability="nosync") as store:
        start = ev.WorkflowStarted(workflow_type="t", input=[], run_id="r", version="v")
        attrs = ev.AttributesSet(attributes={"customer": "c-1"})
        store.append("w", "r", [start, attrs, ev.WorkflowQueued(queue="q")], 0)
        store.append("w2", "r", [start], 0)
        assert ids(store, status="queued") == ["w"] and store.examine().findings == []
        every = search_index.prefixes
        computed: list[object] = []
        monkeypatch.setattr(
            search_index, "prefixes", lambda summary: computed.append(summary) or every(summary)
        )
        store.append("w", "r", [ev.RunDequeued()], 3)
        assert ids(store, status="running") == ["w2", "w"] and ids(store, status="queued") == []
        store.append("w", "r", [ev.WorkflowCompleted(result=1)], 4)
        assert computed == []  # (the status alone moved, twice)
        assert ids(store, status="completed") == ["w"] and ids(store, status="running") == ["w2"]
        assert ids(store, attributes={"customer": "c-1"}) == ["w"]
        assert ids(store, workflow_type="t") == ["w2", "w"]
        assert store.examine().findings == []


def every_page(store: LmdbStore, limit: int, **filters: object) -> list[str]:
    """Every run `filters` pick, `limit` at a time, through the cursors."""
    found: list[str] = []
    cursor = None
    while True:
        page = store.search(RunQuery.of(limit=limit, cursor=cursor, **filters))  # type: ignore[arg-type]
        found += [run.workflow_id for run in page]
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


@pytest.mark.parametrize(
    ("kind", "i", "by"),
    [(b"D", 20, 1), (b"D", 38, 1), (b"S", 10, 1), (b"S", 30, 1), (b"D", 20, -1), (b"S", 30, -1)],
)
def test_a_search_row_out_of_key_order_never_shortens_a_listing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: bytes, i: int, by: int
) -> None:
    """One row of a damaged page sorting after its neighbours ended a walk there: `runs`
    listed 19 runs of 40, silently. Every listing is whole: where the index is out of
    order it reads the whole run index instead, and says once what repairs it."""
    data = tmp_path / "data"
    damage.write_runs(data)
    with LmdbStore(data) as store:
        every, completed = ids(store), store.runs(status=WorkflowStatus.COMPLETED)
        old = store.search(RunQuery.of())[30].started_at
    damage.bump_search_row(data, kind, i, by)
    with caplog.at_level("WARNING", "aion_actors.store"), LmdbStore(data, readonly=True) as store:
        assert ids(store) == every and len(every) == damage.RUNS
        assert every_page(store, 7) == every
        assert ids(store, status="completed") == [w for w in every if int(w[-2:]) % 2 == 0]
        assert every_page(store, 3, status="completed") == ids(store, status="completed")
        assert store.runs(status=WorkflowStatus.COMPLETED) == completed
        after = store.search(RunQuery(started_after=old))  # (ns: runs start ns apart)
        assert [run.workflow_id for run in after] == every[:30]
    warned = [record.getMessage() for record in caplog.records]
    assert len(warned) == 1 and f"the search index of {data} is damaged" in warned[0]
    assert f"`aion-actors doctor {data} --rebuild-index` rebuilds the index" in warned[0]
    with LmdbStore(data) as store:
        assert {f.part for f in store.examine().findings} == {"search"}
        store.rebuild_index()
        assert store.examine().findings == []
        with caplog.at_level("WARNING", "aion_actors.store"):
            caplog.clear()
            assert ids(store) == every and store.runs(status=WorkflowStatus.COMPLETED) == completed
        assert caplog.records == []


@pytest.mark.parametrize(("kind", "i"), [(b"D", 0), (b"S", 0)])
def test_the_last_row_of_a_prefix_lost_is_seen_by_its_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: bytes, i: int
) -> None:
    """Run 0 started first, so its rows are the last of their prefixes: bumped, a row
    leaves its prefix in order, and a walk of the whole prefix counts one row short."""
    data = tmp_path / "data"
    damage.write_runs(data)
    damage.bump_search_row(data, kind, i)
    with caplog.at_level("WARNING", "aion_actors.store"), LmdbStore(data, readonly=True) as store:
        assert ids(store)[-1] == "order-00" and len(ids(store)) == damage.RUNS
        assert store.runs(status=WorkflowStatus.COMPLETED)[0].workflow_id == "order-00"
    assert "is damaged" in caplog.records[0].getMessage()
