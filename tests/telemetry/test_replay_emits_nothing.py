"""Replay emits nothing: a run rebuilt after an eviction or an engine kill repeats no
span and no count for what it had already done."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from aion_actors import AionError, Engine
from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from tests.crashes import kill_engine
from tests.telemetry import flows
from tests.telemetry.capture import Capture, delta, named, read_lines, summary
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(60)
def test_eviction_and_rehydration_emit_no_duplicate_activity_spans(
    tmp_path: Path, otel: Capture
) -> None:
    before = otel.read()
    with Engine.open(tmp_path / "data", workers=1, idle_evict_after=0.1) as engine:
        engine.register(*flows.ALL)
        run = engine.start(flows.steps_around_a_wait, 1, workflow_id="e")
        wait_until(lambda: engine.describe("e").residency == "evicted", 10, "eviction")
        engine.signal("e", "go")
        assert run.result(timeout=30) == 4
    after = otel.read()
    assert delta(before, after, "aion.runs.evictions", workflow_type="steps_around_a_wait") >= 1
    assert delta(before, after, "aion.runs.rehydrations", workflow_type="steps_around_a_wait") >= 1
    assert delta(before, after, "aion.activity.attempts", workflow_type="steps_around_a_wait") == 2
    assert delta(before, after, "aion.runs.started", workflow_type="steps_around_a_wait") == 1
    spans = otel.spans
    [run_span] = named(spans, "run steps_around_a_wait")
    activities = named(spans, "activity double")
    ids = Counter(s.attributes["aion.activity_id"] for s in activities if s.attributes)
    assert len(activities) == 2 and set(ids.values()) == {1}
    assert all(
        s.parent is not None and s.parent.span_id == run_span.context.span_id for s in activities
    )


def _history(data: Path) -> list[ev.Event]:
    try:
        with LmdbStore(data, readonly=True) as store:
            run = store.latest_run("k")
            return store.read("k", run.run_id) if run else []
    except AionError:  # the engine has not created the directory yet
        return []


def _gated_scheduled(data: Path) -> bool:
    return any(isinstance(e, ev.ActivityScheduled) and e.name == "gated" for e in _history(data))


@pytest.mark.timeout(120)
def test_across_a_kill_and_reopen_each_attempt_has_exactly_one_span(
    tmp_path: Path, otel: Capture
) -> None:
    data, ledger, spans_file = tmp_path / "data", tmp_path / "ledger", tmp_path / "spans.jsonl"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.telemetry.traced_child",
            str(data),
            str(ledger),
            str(spans_file),
        ],
        cwd=ROOT,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        # the gated attempt runs, the first one's span is out: kill
        ready = lambda: _gated_scheduled(data) and len(list(read_lines(spans_file))) == 1  # noqa: E731
        wait_until(ready, 60, "the gated activity's schedule")
    finally:
        kill_engine(child)
    first = list(read_lines(spans_file))
    assert [s["name"] for s in first] == ["activity double"]  # the run's span never ended

    before = otel.read()
    (tmp_path / "ledger.gate").touch()
    with Engine.open(data, workers=1) as engine:
        engine.register(*flows.ALL)
        assert engine.result("k", timeout=30) == 6
    after = otel.read()
    second = [summary(s) for s in otel.spans]

    attempts = Counter(
        (s["attributes"]["aion.activity_id"], s["attributes"]["aion.attempt"])
        for s in first + second
        if s["name"].startswith("activity ")
    )
    history = _history(data)
    scheduled = [e for e in history if isinstance(e, ev.ActivityScheduled)]
    assert attempts == Counter({(e.activity_id, e.attempt): 1 for e in scheduled})
    assert len(scheduled) == 3
    # the reopened engine counts only what it recorded itself: the last activity, no start
    assert delta(before, after, "aion.activity.attempts", workflow_type="three_gated") == 1
    assert delta(before, after, "aion.runs.started", workflow_type="three_gated") == 0
    assert delta(before, after, "aion.runs.closed", workflow_type="three_gated") == 1
    [resumed] = [s for s in second if s["name"] == "run three_gated"]
    assert resumed["attributes"]["aion.resumed"] is True
    assert all(
        s["parent_span_id"] == resumed["span_id"]
        for s in second
        if s["name"].startswith("activity ")
    )


_WITHOUT_OTEL = textwrap.dedent(
    """
    import json, sys
    sys.modules["opentelemetry"] = None  # as if it were not installed
    from aion_actors import Engine
    from tests.telemetry import flows
    with Engine.open(sys.argv[1], workers=1) as engine:
        engine.register(*flows.ALL)
        result = engine.start(flows.traced_parent, 1, workflow_id="x").result(timeout=30)
        telemetry = type(engine._parts.recorder.telemetry).__name__
    loaded = sorted(m for m, mod in sys.modules.items()
                    if (m.startswith("opentelemetry") or m.startswith("aion_actors.telemetry."))
                    and mod is not None)
    print(json.dumps({"result": result, "telemetry": telemetry, "loaded": loaded}))
    """
)


@pytest.mark.timeout(60)
def test_without_opentelemetry_the_engine_runs_and_imports_none_of_it(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_OTEL, str(tmp_path / "data")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["result"] == 4
    assert report["telemetry"] == "NoTelemetry"
    assert report["loaded"] == [  # no opentelemetry, nor the modules that import it
        "aion_actors.telemetry.facade",
        "aion_actors.telemetry.guard",
        "aion_actors.telemetry.noop",
    ]
