"""Search on Postgres: the `search_terms` side table is a projection of the run index,
written with the append and deleted with the run."""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aion_actors.core import Event
from aion_actors.core import events as ev
from aion_actors.store import RunQuery
from aion_actors.store.postgres import PostgresStore
from aion_actors.store.postgres._search import terms
from aion_actors.store.protocol import AppendRequest
from tests.store.helpers import started

T0 = 1_700_000_000 * 10**9


def at(event: Event, seq: int, when: int) -> Event:
    return dataclasses.replace(event, seq=seq, recorded_at=when)


def stored_terms(url: str) -> dict[tuple[str, str], set[bytes]]:
    found: dict[tuple[str, str], set[bytes]] = {}
    with psycopg.connect(url) as conn:
        for w, r, term in conn.execute("SELECT workflow_id, run_id, term FROM aion.search_terms"):
            found.setdefault((w, r), set()).add(bytes(term))
    return found


def implied_terms(store: PostgresStore) -> dict[tuple[str, str], set[bytes]]:
    implied = {}
    for run in store.runs():
        listed = terms({"parent": run.parent, "attributes": run.attributes})
        if listed:
            implied[(run.workflow_id, run.run_id)] = listed
    return implied


_VALUES = st.sampled_from([1, 1.0, True, "1", ["1", 2], []]) | st.none()
_CHANGES = st.lists(
    st.tuples(st.integers(0, 3), st.dictionaries(st.sampled_from(["a", "b"]), _VALUES)),
    max_size=12,
)


@pytest.mark.timeout(120)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=_CHANGES, batched=st.booleans())
def test_the_search_terms_always_agree_with_the_run_index(
    pg_url: str, changes: list[tuple[int, dict[str, Any]]], batched: bool
) -> None:
    with PostgresStore(pg_url) as store:
        prefix = f"e{len(store.runs())}-"  # (examples share the database)
        requests = []
        for i in range(4):
            parent = {"workflow_id": f"p{i % 2}", "run_id": "pr"} if i % 2 else None
            requests.append(AppendRequest(f"{prefix}{i}", "r1", (started(parent=parent),), 0))
        heads = dict.fromkeys(range(4), 1)
        for i, attributes in changes:
            event = ev.AttributesSet(attributes=attributes)
            requests.append(AppendRequest(f"{prefix}{i}", "r1", (event,), heads[i]))
            heads[i] += 1
        if batched:  # one group commit: a run may start and change several times in it
            assert all(isinstance(r, list) for r in store.append_batch(requests))
        else:
            for request in requests:
                (result,) = store.append_batch([request])
                assert isinstance(result, list)
        assert stored_terms(pg_url) == implied_terms(store)


def test_deleting_a_runs_row_deletes_its_search_terms(pg_url: str) -> None:
    with PostgresStore(pg_url) as store:
        for workflow_id in ("a", "b"):
            events = [
                at(started(parent={"workflow_id": "p", "run_id": "pr"}), 1, T0),
                at(ev.AttributesSet(attributes={"customer": "c-7", "tags": ["x", "y"]}), 2, T0),
            ]
            store.append(workflow_id, "r1", events, 0)
        with psycopg.connect(pg_url) as conn:
            conn.execute("DELETE FROM aion.runs WHERE workflow_id = 'a'")
        assert set(stored_terms(pg_url)) == {("b", "r1")}
        assert [r.workflow_id for r in store.search(RunQuery.of(parent="p"))] == ["b"]


def test_a_filtered_first_page_reads_the_indexes_not_the_table(pg_url: str) -> None:
    with PostgresStore(pg_url) as store:
        store.append("a", "r1", [started()], 0)
    with psycopg.connect(pg_url) as conn:
        for setting in ("seqscan", "bitmapscan", "sort"):  # (a tiny table: only an index orders)
            conn.execute(f"SET enable_{setting} = off")
        for where in ("status = 'running'", "workflow_type = 'x'", "true"):
            plan = conn.execute(
                f"""EXPLAIN SELECT * FROM aion.runs r WHERE {where}
                ORDER BY started_at DESC, workflow_id, run_id LIMIT 10"""
            ).fetchall()
            text = "\n".join(row[0] for row in plan)
            assert "Index Scan" in text and "Sort" not in text, text
