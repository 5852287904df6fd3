"""`aion-actors prune postgresql://... --older-than AGE`: offline deletion in a Postgres
store, refused while an engine holds the store's advisory lock."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from aion_actors.store.postgres import PostgresStore
from tests.cli.test_commands import aion, holding
from tests.cli.test_prune import fill_prunable, run


@pytest.fixture
def data(pg_url: str) -> str:
    """Runs that ended 10 days ago (two types), one that ended now, and an open one."""
    with PostgresStore(pg_url) as store:
        fill_prunable(store)
    return pg_url


def ids(url: str) -> list[str]:
    with PostgresStore(url, readonly=True) as store:
        return [run.workflow_id for run in store.runs()]


@pytest.mark.timeout(60)
def test_prune_on_a_postgres_url_deletes_closed_runs_older_than_the_age_only(
    data: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "prune", data, "--older-than", "7d", "--dry-run")
    assert code == 0
    assert "would delete old-order run r1 (order, completed, 2 events)" in out
    assert "would delete 2 closed run(s) older than 7d (4 events) in postgresql://" in out
    assert ids(data) == ["new-order", "old-order", "old-ship", "open-order"]
    code, out, _ = run(capsys, "prune", data, "--older-than", "7d", "--type", "order")
    assert code == 0
    assert "deleted old-order run r1" in out and "old-ship" not in out
    code, out, _ = run(capsys, "prune", data, "--older-than", "1d", "--json")
    assert code == 0
    assert [r["workflow_id"] for r in json.loads(out)["runs"]] == ["old-ship"]
    assert ids(data) == ["new-order", "open-order"]  # the open run and the recent one stay
    with psycopg.connect(data) as conn:
        rows = conn.execute("SELECT DISTINCT workflow_id FROM aion.events ORDER BY 1").fetchall()
        assert rows == [("new-order",), ("open-order",)]


@pytest.fixture
def held(pg_url: str) -> Iterator[str]:
    """A Postgres store whose engine runs in another process."""
    with holding(pg_url):
        yield pg_url


@pytest.mark.timeout(90)
def test_prune_on_a_postgres_url_is_refused_while_an_engine_holds_the_store(held: str) -> None:
    done = aion("prune", held, "--older-than", "7d")
    assert done.returncode == 1
    assert "is held by process" in done.stderr and "stop it or close that store" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.timeout(60)
def test_prune_on_a_postgres_url_without_a_store_says_so_and_creates_nothing(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "prune", pg_url, "--older-than", "7d")
    assert code == 2
    assert "holds no aion-actors store" in " ".join(err.split())
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('aion.meta')").fetchone() == (None,)
