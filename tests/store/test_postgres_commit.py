"""The Postgres group commit: one implicit transaction per batch, sent in two round trips,
with arrays built in binary by `_arrays`."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from aion_actors.core import events as ev
from aion_actors.store.postgres import PostgresStore, _appends, _arrays
from aion_actors.store.protocol import AppendRequest
from tests.store.helpers import started


def _done(i: int) -> ev.ActivityCompleted:
    return ev.ActivityCompleted(activity_id=f"a{i}", result=i)


@pytest.mark.timeout(60)
def test_a_statement_failing_late_in_a_group_commit_leaves_none_of_the_batch_written(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PostgresStore(pg_url) as store:
        store.append("w0", "r", [started()], 0)

        def failing(conn: Any, *args: Any) -> None:
            conn.execute("SELECT 1 / 0")  # after the events and the run index are sent

        monkeypatch.setattr(_appends._search, "update", failing)  # noqa: SLF001 (fault injection)
        requests = [
            AppendRequest("w0", "r", (_done(1),), 1),
            AppendRequest("w1", "r", (started(),), 0),
        ]
        with pytest.raises(psycopg.errors.DivisionByZero):
            store.append_batch(requests)
        monkeypatch.undo()
        assert [e.seq for e in store.read("w0", "r")] == [1]
        assert store.read("w1", "r") == [] and store.get_run("w1", "r") is None
        assert store.head("w0", "r") == 1
        # the connection went back to the pool usable, and the same appends now commit
        results = store.append_batch(requests)
        assert [[e.seq for e in r] for r in results if isinstance(r, list)] == [[2], [1]]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM aion.events").fetchone() == (3,)


@pytest.mark.timeout(60)
def test_a_batch_costs_two_round_trips_however_many_runs_it_covers(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PostgresStore(pg_url) as store:
        store.append_batch([AppendRequest(f"w{i}", "r", (started(),), 0) for i in range(50)])
        sent: list[str] = []
        execute = psycopg.Connection.execute

        def counting(self: psycopg.Connection[Any], query: Any, *args: Any, **kw: Any) -> Any:
            sent.append(str(query).split()[0])
            return execute(self, query, *args, **kw)

        monkeypatch.setattr(psycopg.Connection, "execute", counting)
        batch = [AppendRequest(f"w{i}", "r", (_done(1), _done(2)), 1) for i in range(50)]
        assert all(isinstance(r, list) for r in store.append_batch(batch))
        # the summaries (and transaction id), then the events with the run index: no BEGIN,
        # no COMMIT, no statement per run
        assert sent == ["WITH", "WITH"]


@pytest.mark.timeout(60)
def test_binary_arrays_built_in_one_pass_read_back_as_the_values_given(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        _arrays.register(conn)
        texts = ["a", "", "ünïcödé ✓", "quote ' and \" and \\ and {,}", None]
        row = conn.execute(
            "SELECT %s::text[], %s::bytea[], %s::int8[], %s::int4[], %s::text[]",
            (
                _arrays.text(texts),
                _arrays.bytea([b"\x00\xff", b"", None]),
                _arrays.int8([-(2**63), 0, 2**63 - 1, None]),
                _arrays.int4([-(2**31), 7, None]),
                _arrays.text([]),
            ),
            binary=True,
        ).fetchone()
    assert row == (
        texts,
        [b"\x00\xff", b"", None],
        [-(2**63), 0, 2**63 - 1, None],
        [-(2**31), 7, None],
        [],
    )
