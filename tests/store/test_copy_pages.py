"""A copy's memory is bounded by a page, not by the store: every read it makes of either
end returns at most a page of runs or timers, and it never reads a whole store
(`runs()`, `open_runs()`, every timer, every freed run). The paged reads it is built on
(`runs_after`, `timers_after`, `freed_among`) on both stores."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_actors.core import events as ev
from aion_actors.store import EventStore, LmdbStore, copy_store, copying
from aion_actors.store._projection import MAX_TIME
from aion_actors.store.postgres import PostgresStore
from tests.store.copy_data import HOUR, family, fill

pytestmark = pytest.mark.timeout(120)
_PAGE = 7
#: reads that list runs or timers (a read of one run's events is bounded by a batch)
_LISTING = (
    "runs", "open_runs", "search", "expired_runs", "due_timers",
    "runs_after", "timers_after", "freed_among", "damaged_runs",
)  # fmt: skip
_WHOLE_STORE = {"runs", "open_runs", "expired_runs", "due_timers"}


class Counted:
    """A real store, passed through, noting how many runs or timers each listing read
    returned (`reads`: (method, how many))."""

    def __init__(self, store: Any, reads: list[tuple[str, int]]) -> None:
        self._store, self._reads = store, reads

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # (a destination is still recognised as a data directory)
        return type(self._store)

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._store, name)
        if name not in _LISTING:
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            result = found(*args, **kwargs)
            self._reads.append((name, len(result)))
            return result

        return counted

    def __enter__(self) -> Counted:
        return self

    def __exit__(self, *exc: object) -> None:
        self._store.close()


def _counting(monkeypatch: pytest.MonkeyPatch, opener: str, reads: list[tuple[str, int]]) -> None:
    real: Callable[..., Any] = getattr(copying, opener)
    monkeypatch.setattr(copying, opener, lambda target: Counted(real(target), reads))


def _open(target: Path | str) -> EventStore:
    return PostgresStore(target) if isinstance(target, str) else LmdbStore(target)


@pytest.fixture(params=["lmdb-to-postgres", "postgres-to-lmdb"])
def ends(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path | str, Path | str]:
    url: str = request.getfixturevalue("pg_url")
    if request.param == "lmdb-to-postgres":
        return tmp_path / "src", url
    return url, tmp_path / "dest"


def test_no_read_of_a_copy_returns_more_than_a_page_and_no_store_is_read_whole(
    ends: tuple[Path | str, Path | str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, dest = ends
    with _open(source) as store:
        fill(store, 60)  # 60 runs, 30 with a timer: many pages of each
        family(store)  # children sorting before their parents: a later pass writes them
        want = store.runs()
    source_reads: list[tuple[str, int]] = []
    dest_reads: list[tuple[str, int]] = []
    _counting(monkeypatch, "open_source", source_reads)
    _counting(monkeypatch, "open_dest", dest_reads)
    made = copy_store(source, dest, page_runs=_PAGE)
    assert (made.runs, made.timers, made.timers_apart) == (64, 31, 1)
    for reads in (source_reads, dest_reads):
        assert {name for name, _ in reads} & _WHOLE_STORE == set()
        assert max(size for _, size in reads) <= _PAGE
    assert sum(size for name, size in source_reads if name == "runs_after") >= 64
    with _open(dest) as copy:
        assert copy.runs() == want


@pytest.fixture(params=["lmdb", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LmdbStore | PostgresStore]:
    if request.param == "postgres":
        with PostgresStore(request.getfixturevalue("pg_url")) as pg:
            yield pg
    else:
        with LmdbStore(tmp_path / "data") as lmdb:
            yield lmdb


def test_runs_after_pages_through_every_run_in_id_order_from_after_the_cursor(
    store: LmdbStore | PostgresStore,
) -> None:
    fill(store, 9, prefix="w")
    store.append("w003", "r2", [_started("r2")], 0)
    store.append("é", "r1", [_started("r1")], 0)  # past every ASCII id, in byte order
    every = [(r.workflow_id, r.run_id) for r in store.runs()]
    assert every[3:5] == [("w003", "r1"), ("w003", "r2")] and every[-1] == ("é", "r1")
    paged, after = [], None
    while page := store.runs_after(after, 4):
        assert len(page) <= 4
        paged.extend(page)
        after = (page[-1].workflow_id, page[-1].run_id)
    assert paged == store.runs()
    assert store.runs_after(("w003", "r1"), 2) == store.runs()[4:6]
    assert store.runs_after(("w003", "r0"), 1) == store.runs()[3:4]  # (a cursor not a run)
    assert store.runs_after(("é", "r1"), 5) == []


def test_timers_after_pages_through_every_timer_in_id_order_from_after_the_cursor(
    store: LmdbStore | PostgresStore,
) -> None:
    fill(store, 6)  # w000, w002, w004 wait on "wake"
    at = time.time_ns() + HOUR
    store.schedule_timer("w002", "r1", "apart", at)  # ("apart" sorts before "wake")
    store.schedule_timer("w001", "r1", "late", at + HOUR)  # (fires last, lists second)
    by_id = sorted(store.due_timers(MAX_TIME), key=lambda t: (t.workflow_id, t.run_id, t.timer_id))
    assert [(t.workflow_id, t.timer_id) for t in by_id][:3] == [
        ("w000", "wake"), ("w001", "late"), ("w002", "apart"),
    ]  # fmt: skip
    paged, after = [], None
    while page := store.timers_after(after, 2):
        assert len(page) <= 2
        paged.extend(page)
        after = (page[-1].workflow_id, page[-1].run_id, page[-1].timer_id)
    assert paged == by_id
    assert store.timers_after(("w002", "r1", "apart"), 10) == by_id[3:]


def test_freed_among_says_which_closed_runs_retention_has_started(
    store: LmdbStore | PostgresStore,
) -> None:
    family(store)  # a-kid waits for z-open; b-kid and z-done are freed
    fill(store, 2)  # w000 open, w001 closed
    asked = [
        ("a-kid", "k1"), ("b-kid", "k1"), ("z-done", "p1"), ("z-open", "p1"),
        ("w000", "r1"), ("w001", "r1"), ("none", "r1"),
    ]  # fmt: skip
    assert store.freed_among(asked) == [False, True, True, False, False, True, False]
    freed = {(r.workflow_id, r.run_id) for r in store.expired_runs(MAX_TIME, lambda _: 0)}
    assert {run for run, yes in zip(asked, store.freed_among(asked), strict=True) if yes} == freed
    assert store.freed_among([]) == []


def _started(run_id: str) -> ev.Event:
    return ev.WorkflowStarted(workflow_type="t", input=[], run_id=run_id, version="v1")
