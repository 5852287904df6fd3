"""What `copy_store` refuses, and what it checks: a source an engine holds, a destination
that holds runs, is the source or lies under a missing directory; parents before their
children, so retention is filed as in the source; timers no event records."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from aion_actors.core import AionError, ConfigError, DataDirLocked
from aion_actors.store import EventStore, LmdbStore, copy_store
from aion_actors.store._copy_plan import parents_first
from aion_actors.store._projection import MAX_TIME
from aion_actors.store.postgres import PostgresStore, _requests
from tests.cli.test_commands import holding
from tests.store import damage
from tests.store.copy_data import family, fill

pytestmark = pytest.mark.timeout(120)


def _open(target: Path | str) -> EventStore:
    return PostgresStore(target) if isinstance(target, str) else LmdbStore(target)


@pytest.fixture(params=["lmdb", "postgres"])
def dest(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A destination of each kind, not created yet (a new database's default schema)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return tmp_path / "dest"


@pytest.mark.parametrize("page_runs", [1, 1000])
def test_parents_are_copied_first_so_retention_and_timers_are_as_in_the_source(
    tmp_path: Path, dest: Path | str, page_runs: int
) -> None:
    """Within a page parents go first; a closed child a page before its parent waits
    for a later pass (`page_runs=1`: every child)."""
    with LmdbStore(tmp_path / "src") as source:
        family(source)
        assert [r.workflow_id for r in parents_first(source.runs())] == [
            "z-done", "z-open", "a-kid", "b-kid",
        ]  # fmt: skip
        want_runs, want_timers = source.runs(), timers(source)
        moments = sorted(t + d for r in want_runs if (t := r.ended_at) for d in (-1, 0))
        want_expired = [_expired(source, at) for at in moments]
    # a-kid waits for its open parent; b-kid's retention counts from its parent's later end
    assert want_expired[-1] == {("b-kid", "k1"), ("z-done", "p1")}
    assert ("b-kid", "k1") not in want_expired[-2]
    made = copy_store(tmp_path / "src", dest, batch_events=2, page_runs=page_runs)
    assert (made.runs, made.open_runs, made.timers, made.timers_apart) == (4, 1, 1, 1)
    with _open(dest) as copy:
        assert copy.runs() == want_runs and timers(copy) == want_timers
        assert [_expired(copy, at) for at in moments] == want_expired


def timers(store: EventStore) -> dict[tuple[str, str, str], int]:
    return {(t.workflow_id, t.run_id, t.timer_id): t.fire_at for t in store.due_timers(MAX_TIME)}


def _expired(store: EventStore, at: int) -> set[tuple[str, str]]:
    """The closed runs a retention of 0 lets go at `at`."""
    return {(r.workflow_id, r.run_id) for r in store.expired_runs(at, lambda _: 0)}


def test_a_source_an_engine_holds_is_refused_naming_it_and_nothing_is_created(
    tmp_path: Path, pg_url: str
) -> None:
    data = tmp_path / "held"
    for source in (str(data), pg_url):
        with holding(source):
            with pytest.raises(DataDirLocked, match=r"process \d+"):
                copy_store(source, tmp_path / "dest")
            assert not (tmp_path / "dest").exists()


def test_a_destination_that_holds_runs_is_refused_and_left_as_it_was(
    tmp_path: Path, dest: Path | str
) -> None:
    with LmdbStore(tmp_path / "src") as source:
        fill(source, 6)
    with _open(dest) as store:
        fill(store, 2, prefix="mine-")
    with pytest.raises(ConfigError, match="already holds runs; a copy goes only into an empty"):
        copy_store(tmp_path / "src", dest)
    with _open(dest) as store:  # opens: no copy marked it
        assert [r.workflow_id for r in store.runs()] == ["mine-000", "mine-001"]


def test_an_empty_store_is_a_destination(tmp_path: Path, dest: Path | str) -> None:
    with LmdbStore(tmp_path / "src") as source:
        fill(source, 6)
    _open(dest).close()  # created, empty
    assert copy_store(tmp_path / "src", dest).runs == 6


def test_the_source_itself_or_a_directory_inside_it_is_refused(tmp_path: Path, pg_url: str) -> None:
    src = tmp_path / "src"
    with LmdbStore(src) as store:
        fill(store, 2)
    for dest in (src, src / "inner", tmp_path):
        with pytest.raises(ConfigError, match=r"is the source .*, or inside it, or holds it"):
            copy_store(src, dest)
    with PostgresStore(pg_url) as store:
        fill(store, 2)
    with pytest.raises(ConfigError, match="is the source; copy into another database"):
        copy_store(pg_url, pg_url + "?schema=aion")
    assert not (src / "inner").exists()


def test_a_mistyped_path_creates_nothing(tmp_path: Path) -> None:
    src = tmp_path / "src"
    with LmdbStore(src) as store:
        fill(store, 2)
    with pytest.raises(ConfigError, match=r"the directory .*nope for the destination 'dest' does"):
        copy_store(src, tmp_path / "nope" / "dest")
    with pytest.raises(ConfigError, match=r"the source .*missing does not exist"):
        copy_store(tmp_path / "missing", tmp_path / "dest")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="holds files but no aion-actors store"):
        copy_store(src, tmp_path / "other")
    assert not (tmp_path / "nope").exists() and not (tmp_path / "dest").exists()
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["notes.txt"]


def test_a_postgres_source_with_calls_no_node_applied_is_refused(
    pg_url: str, tmp_path: Path
) -> None:
    with PostgresStore(pg_url) as store:
        fill(store, 2)
    with psycopg.connect(pg_url) as conn:  # a call a node recorded for a stopped owner
        _requests.ensure(conn, "aion")
        conn.execute("INSERT INTO aion.requests VALUES ('node:1', 3, 'n1', 0, '\\x80')")
    with pytest.raises(AionError, match=r"holds 1 call\(s\) between nodes that no node has"):
        copy_store(pg_url, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_a_source_whose_run_index_is_damaged_is_refused_naming_the_repair(
    tmp_path: Path,
) -> None:
    data = tmp_path / "src"
    damage.write_runs(data, 4)
    damage.garbage_index_entry(data, 1)  # its run would be left out of the copy
    with pytest.raises(AionError, match=r"1 run index entr\(ies\) that do not decode \(run run1"):
        copy_store(data, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    with LmdbStore(data) as store:
        store.rebuild_index()
    assert copy_store(data, tmp_path / "dest").runs == 4
