"""Retention on Postgres only: a deletion killed half-way is invisible, and finished by
the next writable open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from aion_actors.store.postgres import PostgresStore

ROOT = Path(__file__).resolve().parents[2]


def _left(url: str) -> tuple[int, int]:
    """Events of the run being deleted still stored, and `doomed` rows."""
    with psycopg.connect(url) as conn:
        events = conn.execute("SELECT count(*) FROM aion.events WHERE workflow_id = 'long'")
        doomed = conn.execute("SELECT count(*) FROM aion.doomed")
        return int(events.fetchone()[0]), int(doomed.fetchone()[0])


@pytest.mark.timeout(60)
def test_a_deletion_killed_half_way_is_invisible_and_finished_by_the_next_writable_open(
    pg_url: str,
) -> None:
    child = subprocess.run(
        [sys.executable, "-m", "tests.store.pg_prune_child", pg_url],
        cwd=ROOT,
        env={**os.environ, "AION_FAULTS": "prune.middle:3"},
        capture_output=True,
        text=True,
        timeout=50,
        start_new_session=True,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert child.stdout.split() == ["deleting"]
    events, doomed = _left(pg_url)
    assert 0 < events < 32 and doomed == 1  # some transactions ran, not all
    with PostgresStore(pg_url, readonly=True) as inspector:  # as the kill left it
        assert inspector.get_run("long", "r1") is None
        assert inspector.read("long", "r1") == [] and inspector.head("long", "r1") == 0
        assert [run.workflow_id for run in inspector.runs()] == ["kept"]
    assert _left(pg_url) == (events, 1)  # a read-only open finishes nothing
    with PostgresStore(pg_url) as store:
        assert _left(pg_url) == (0, 0)
        assert len(store.read("kept", "r1")) == 4
