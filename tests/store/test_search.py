"""Conformance: `search` filters, orders and pages runs the same way in every store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aion_actors.core import Event
from aion_actors.core import events as ev
from aion_actors.store import EventStore, RunQuery
from aion_actors.store._search import matches, sort_key
from tests.store.helpers import started

T0 = 1_700_000_000 * 10**9  # unix ns
SECOND = 10**9


def at(event: Event, seq: int, when: int) -> Event:
    """`event` stamped by hand, so the store keeps its time."""
    return dataclasses.replace(event, seq=seq, recorded_at=when)


def start(
    store: EventStore,
    workflow_id: str,
    when: int,
    *,
    kind: str = "checkout",
    parent: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    end: bool = False,
) -> None:
    events = [at(started(kind, run_id="r1", parent=parent), 1, when)]
    if attributes is not None:
        events.append(at(ev.AttributesSet(attributes=attributes), 2, when))
    if end:
        events.append(at(ev.WorkflowCompleted(result=1), len(events) + 1, when + SECOND))
    store.append(workflow_id, "r1", events, 0)


def ids(store: EventStore, **filters: Any) -> list[str]:
    return [run.workflow_id for run in store.search(RunQuery.of(**filters))]


def test_runs_are_listed_newest_started_first_ties_by_workflow_id(store: EventStore) -> None:
    start(store, "b", T0)
    start(store, "a", T0)
    start(store, "c", T0 + SECOND)
    start(store, "d", T0 - SECOND)
    assert ids(store) == ["c", "a", "b", "d"]


def test_each_filter_selects_exactly_the_runs_it_names(store: EventStore) -> None:
    parent = {"workflow_id": "p", "run_id": "pr", "child_run_id": "r1"}
    start(store, "a", T0, attributes={"customer": "c-7", "priority": 2})
    start(store, "b", T0 + 1 * SECOND, kind="ship", end=True)
    start(store, "c", T0 + 2 * SECOND, parent=parent, attributes={"customer": "c-8"})
    start(store, "d", T0 + 3 * SECOND, kind="ship", attributes={"customer": "c-7"}, end=True)
    assert ids(store, status="completed") == ["d", "b"]
    assert ids(store, workflow_type="ship") == ["d", "b"]
    assert ids(store, started_after=(T0 + SECOND) / 1e9) == ["d", "c"]  # exclusive
    assert ids(store, started_before=dt.datetime.fromtimestamp(2 + T0 / 1e9, dt.UTC)) == ["b", "a"]
    assert ids(store, closed_after=(T0 + 2 * SECOND) / 1e9) == ["d"]
    assert ids(store, parent="p") == ["c"]
    assert ids(store, parent=("p", "pr")) == ["c"] and ids(store, parent=("p", "x")) == []
    assert ids(store, attributes={"customer": "c-7"}) == ["d", "a"]
    assert ids(store, attributes={"customer": "c-7", "priority": 2}) == ["a"]  # AND
    assert ids(store, attributes={"customer": "c-7"}, workflow_type="checkout") == ["a"]
    assert ids(store, status="completed", started_before=(T0 + 3 * SECOND) / 1e9) == ["b"]
    assert ids(store, attributes={"customer": "nobody"}) == []


def test_attribute_kinds_are_distinct_lists_match_any_item_and_instants_compare(
    store: EventStore,
) -> None:
    noon = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    same_instant = noon.astimezone(dt.timezone(dt.timedelta(hours=2)))
    start(store, "int", T0, attributes={"n": 1, "tags": ["x", "y"], "when": noon})
    start(store, "float", T0 + 1, attributes={"n": 1.0})
    start(store, "bool", T0 + 2, attributes={"n": True})
    assert ids(store, attributes={"n": 1}) == ["int"]
    assert ids(store, attributes={"n": 1.0}) == ["float"]
    assert ids(store, attributes={"n": True}) == ["bool"]
    assert ids(store, attributes={"tags": "y"}) == ["int"]
    assert ids(store, attributes={"when": same_instant}) == ["int"]


def test_attributes_merge_and_a_none_value_deletes_its_name(store: EventStore) -> None:
    start(store, "w", T0, attributes={"customer": "c-7", "stage": "new"})
    store.append("w", "r1", [ev.AttributesSet(attributes={"stage": "paid", "customer": None})], 2)
    run = store.get_run("w", "r1")
    assert run is not None and run.attributes == {"stage": "paid"}
    assert ids(store, attributes={"stage": "paid"}) == ["w"]
    assert ids(store, attributes={"stage": "new"}) == []
    assert ids(store, attributes={"customer": "c-7"}) == []


def test_pages_follow_the_cursor_with_no_repeat_or_gap_while_runs_start(
    store: EventStore,
) -> None:
    for i in range(10):
        start(store, f"w{i}", T0 + i * SECOND, attributes={"even": i % 2 == 0})
    seen: list[str] = []
    cursor = None
    later = 100
    while True:
        page = store.search(RunQuery.of(limit=3, cursor=cursor))
        seen += [run.workflow_id for run in page]
        start(store, f"new{later}", T0 + later * SECOND)  # a run starts between pages
        later += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"w{i}" for i in reversed(range(10))]
    evens = store.search(RunQuery.of(attributes={"even": True}, limit=5))
    assert [r.workflow_id for r in evens] == ["w8", "w6", "w4", "w2", "w0"]
    assert evens.next_cursor is None  # exactly one page: no empty page after it


def test_no_limit_lists_everything_and_the_page_is_a_list(store: EventStore) -> None:
    start(store, "a", T0)
    start(store, "b", T0 + 1)
    page = store.search(RunQuery.of())
    assert page == [store.get_run("b", "r1"), store.get_run("a", "r1")]
    assert page.next_cursor is None and len(page) == 2 and page[0].workflow_id == "b"


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"status": "sleeping"}, "status 'sleeping' is not one of"),
        ({"limit": 0}, "limit must be an int >= 1"),
        ({"limit": "10"}, "limit must be an int >= 1"),
        ({"cursor": "not-a-cursor"}, "is not one list_runs returned"),
        ({"started_after": "yesterday"}, "started_after must be an aware datetime, unix"),
        ({"started_after": -1}, r"started_after -1 is out of range \(unix seconds from 1970"),
        ({"started_after": float("nan")}, "started_after nan is out of range"),
        ({"closed_after": 9_500_000_000}, "closed_after 9500000000 is out of range"),
        ({"started_before": 2**64}, "is out of range"),
        ({"started_after": dt.datetime(1969, 12, 31, tzinfo=dt.UTC)}, "is out of range"),
        ({"started_before": dt.datetime(2024, 1, 1)}, "has no timezone"),
        ({"attributes": {"bad name": 1}}, "must be a Python identifier"),
        ({"attributes": {"n": [1, 2]}}, "give one value"),
        ({"attributes": {"n": {"a": 1}}}, "must be str, int, float, bool"),
        ({"parent": 7}, "parent must be a workflow_id"),
        ({"workflow_type": ""}, "workflow_type must be a non-empty str"),
    ],
)
def test_bad_search_arguments_raise_naming_the_argument(
    filters: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RunQuery.of(**filters)


_RUN = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["a", "b"]),
        "when": st.integers(0, 5),
        "end": st.booleans(),
        "attributes": st.dictionaries(
            st.sampled_from(["x", "y"]),
            st.sampled_from([1, 2, 1.0, True, "1", ["1", "2"]]) | st.none(),
            max_size=2,
        ),
    }
)
_QUERY = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["running", "completed"]),
        "workflow_type": st.sampled_from(["a", "b"]),
        "started_after": st.integers(0, 5).map(lambda i: (T0 + i * SECOND) / 1e9),
        "attributes": st.dictionaries(
            st.sampled_from(["x", "y"]), st.sampled_from([1, 1.0, True, "1", "2"]), max_size=2
        ),
        "limit": st.integers(1, 4),
    },
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(runs=st.lists(_RUN, max_size=8), queries=st.lists(_QUERY, min_size=1, max_size=4))
def test_every_page_is_the_brute_force_answer_in_order(
    store: EventStore, runs: list[dict[str, Any]], queries: list[dict[str, Any]]
) -> None:
    base = len(store.search(RunQuery.of()))  # runs of earlier examples share the store
    for i, run in enumerate(runs):
        workflow_id = f"h{base + i}"
        attributes = {k: v for k, v in run["attributes"].items() if v is not None}
        start(
            store,
            workflow_id,
            T0 + run["when"] * SECOND,
            kind=run["kind"],
            end=run["end"],
            attributes=attributes or None,
        )
    everything = sorted(store.search(RunQuery.of()), key=sort_key)
    for filters in queries:
        query = RunQuery.of(**filters)
        expected = [run for run in everything if matches(query, run)]
        listed, cursor = [], None
        while True:
            page = store.search(RunQuery.of(**filters, cursor=cursor))
            listed += page
            cursor = page.next_cursor
            if cursor is None:
                break
        assert listed == expected


def test_runs_started_past_2_63_ns_keep_their_time_and_search_order(store: EventStore) -> None:
    # (the Postgres bigint columns hold such times shifted by 2**63, like its timers)
    for workflow_id, when in (("max", 2**64 - 1), ("top", 2**63), ("below", 2**63 - 1), ("low", 1)):
        store.append(workflow_id, "r1", [at(started(), 1, when)], 0)
    run = store.get_run("max", "r1")
    assert run is not None and run.started_at == 2**64 - 1
    assert ids(store) == ["max", "top", "below", "low"]
    first = store.search(RunQuery.of(limit=2))
    rest = store.search(RunQuery.of(cursor=first.next_cursor))
    assert [r.workflow_id for r in [*first, *rest]] == ["max", "top", "below", "low"]
    assert ids(store, started_before=1) == ["low"]
    store.append("w", "r1", [at(started(), 1, 5)], 0)
    store.append("w", "r2", [at(started(run_id="r2"), 1, 2**63 + 5)], 0)
    latest = store.latest_run("w")
    assert latest is not None and latest.run_id == "r2"


def test_a_page_is_filled_past_many_newer_runs_that_fail_a_filter(store: EventStore) -> None:
    for i in range(3):
        start(store, f"closed{i}", T0 + i * SECOND, end=True)
    for i in range(40):
        start(store, f"open{i:02}", T0 + (10 + i) * SECOND, parent={"workflow_id": "p"})
    closed = store.search(RunQuery.of(closed_after=T0 / 1e9, limit=2))
    assert [r.workflow_id for r in closed] == ["closed2", "closed1"]
    rest = store.search(RunQuery.of(closed_after=T0 / 1e9, limit=2, cursor=closed.next_cursor))
    assert [r.workflow_id for r in rest] == ["closed0"] and rest.next_cursor is None
    assert ids(store, parent=("p", "elsewhere")) == []


def test_a_long_attribute_value_is_stored_and_found_by_its_exact_value(store: EventStore) -> None:
    long = "x" * 10_000
    start(store, "long", T0, attributes={"note": long, "tags": [long, "short"]})
    start(store, "other", T0 + 1, attributes={"note": long + "y"})
    assert ids(store, attributes={"note": long}) == ["long"]
    assert ids(store, attributes={"tags": long}) == ["long"]
    assert ids(store, attributes={"note": long + "y"}) == ["other"]


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def test_a_runs_own_start_as_list_runs_or_describe_give_it_never_lists_that_run(
    store: EventStore,
) -> None:
    """`started_after` / `started_before` take a run's `RunSummary.started_at` (an int of
    unix ns, exact) and its `describe().started_at` (a datetime: the microsecond it started
    in, all of which it names); neither lists the run itself, so "the runs started after
    the last one I saw" has no duplicate (before: the int was refused as out of range,
    and about half the runs were listed as started after, or before, themselves)."""
    times = {
        "a": T0 + 1_000_123,
        "b": T0 + 1_000_999,  # the same microsecond as a
        "c": T0 + 1_001_000,  # the next one
        "d": T0 + 2_500_500,
        "e": T0 + 123_456_789_999,
    }
    for workflow_id, when in times.items():
        start(store, workflow_id, when)
    for run in store.search(RunQuery.of()):
        ns = run.started_at
        assert set(ids(store, started_after=ns)) == {w for w, t in times.items() if t > ns}
        assert set(ids(store, started_before=ns)) == {w for w, t in times.items() if t < ns}
        described = _EPOCH + dt.timedelta(microseconds=ns // 1000)  # as describe() gives it
        micros = ns // 1000
        later = {w for w, t in times.items() if t // 1000 > micros}
        earlier = {w for w, t in times.items() if t // 1000 < micros}
        assert set(ids(store, started_after=described)) == later
        assert set(ids(store, started_before=described)) == earlier
        assert run.workflow_id not in later | earlier
    assert ids(store, started_after=T0 + 1_000_123, started_before=T0 + 2_500_500) == ["c", "b"]
    seconds = (T0 + 2 * SECOND) // SECOND  # unix seconds, an int or a float, as before
    assert ids(store, started_before=seconds) == ids(store, started_before=float(seconds))
    assert ids(store, started_before=seconds) == ["d", "c", "b", "a"]
