"""A report must never cost a commit: a broken or slow OpenTelemetry SDK (a span processor
or exporter that raises or dawdles, an instrument that raises, a provider that cannot give
a tracer or a meter) loses telemetry, never a run, a commit or the engine's close; and
each kind of failure is logged once, not once per event."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, Span
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from aion_actors import Engine
from aion_actors.core import events as ev
from aion_actors.core import stamp
from aion_actors.store.protocol import AppendRequest
from aion_actors.telemetry import guard
from aion_actors.telemetry import otel as otel_module
from aion_actors.telemetry.otel import OtelTelemetry
from tests.telemetry import flows
from tests.telemetry.capture import Capture, delta, named
from tests.workers.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _complaints(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("aion_actors.telemetry")]


def _child(mode: str, data: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.telemetry.failing_child", mode, str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


@pytest.mark.timeout(60)
def test_a_span_processor_failing_on_end_loses_that_span_and_nothing_else(
    tmp_path: Path, otel: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse_activities(span: ReadableSpan) -> None:
        if span.name.startswith("activity"):
            raise RuntimeError("the exporter refused an activity span")

    otel.fail(ending=refuse_activities)
    before = otel.read()
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL)
        for value in range(3):
            assert engine.start(flows.traced_child, value).result(timeout=30) == 2 * value
    after = otel.read()

    # the same commit's other reports: the run's end, the attempt's duration
    closed = delta(before, after, "aion.runs.closed", workflow_type="traced_child")
    assert closed == 3
    assert delta(before, after, "aion.activity.duration", workflow_type="traced_child") == 3
    runs = named(otel.spans, "run traced_child")
    assert len(runs) == 3
    for run in runs:  # each ended with its run, none left open until the engine closed
        assert run.attributes is not None and run.attributes["aion.outcome"] == "completed"
        assert "aion.stretch_end" not in run.attributes
    [complaint] = _complaints(caplog)  # once, not once per run
    assert "the exporter refused an activity span" in caplog.text
    assert "activity" in complaint.getMessage()


@pytest.mark.timeout(60)
def test_a_span_processor_failing_on_start_loses_the_run_span_not_its_counts(
    tmp_path: Path, otel: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse_runs(span: Span) -> None:
        if span.name.startswith("run"):
            raise RuntimeError("the processor refused a run span")

    otel.fail(starting=refuse_runs)
    before = otel.read()
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL)
        for value in range(3):
            assert engine.start(flows.traced_child, value).result(timeout=30) == 2 * value
    after = otel.read()

    assert delta(before, after, "aion.runs.started", workflow_type="traced_child") == 3
    assert delta(before, after, "aion.runs.closed", workflow_type="traced_child") == 3
    assert len(named(otel.spans, "activity double")) == 3  # without their run's span
    assert named(otel.spans, "run traced_child") == []
    [complaint] = _complaints(caplog)
    assert "starting a run's span" in complaint.getMessage()
    assert "the processor refused a run span" in complaint.getMessage()


@pytest.mark.timeout(60)
def test_a_run_span_failing_as_the_engine_closes_does_not_break_the_close(
    tmp_path: Path, otel: Capture, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    uncaught: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)

    def refuse_runs(span: ReadableSpan) -> None:
        if span.name.startswith("run"):
            raise RuntimeError("the exporter refused a run span")

    otel.fail(ending=refuse_runs)
    threads = set(threading.enumerate())
    engine = Engine.open(tmp_path / "data", workers=1)
    engine.register(*flows.ALL)
    engine.start(flows.steps_around_a_wait, 1, workflow_id="open-1")
    engine.start(flows.steps_around_a_wait, 2, workflow_id="open-2")
    wait_until(lambda: len(named(otel.spans, "activity double")) == 2, 10, "the first attempts")
    engine.close()  # the two runs' spans end here, and fail

    assert uncaught == []
    assert len(_complaints(caplog)) == 1
    assert "the exporter refused a run span" in caplog.text
    wait_until(lambda: set(threading.enumerate()) <= threads, 10, "the engine's threads to end")


@pytest.mark.timeout(60)
def test_a_slow_span_exporter_holds_up_no_commit(tmp_path: Path, otel: Capture) -> None:
    otel.fail(ending=lambda span: time.sleep(0.5))  # e.g. a collector far away
    threads = set(threading.enumerate())
    took: list[float] = []
    with Engine.open(tmp_path / "data", workers=1) as engine:
        engine.register(*flows.ALL)
        for value in range(3):
            began = time.monotonic()
            assert engine.start(flows.traced_child, value).result(timeout=30) == 2 * value
            took.append(time.monotonic() - began)
    assert max(took) < 0.45, took  # no run waits for the spans of the one before
    assert len(named(otel.spans, "run traced_child")) == 3  # the close waited for them
    assert len(named(otel.spans, "activity double")) == 3
    wait_until(lambda: set(threading.enumerate()) <= threads, 10, "the engine's threads to end")


@pytest.mark.timeout(120)
def test_a_metrics_instrument_that_raises_costs_an_idle_run_nothing(tmp_path: Path) -> None:
    seen = _child("instrument", tmp_path / "data")
    assert seen["result"] == "AB"
    assert seen["restarts"] == 0 and "RunCrashed" not in seen["history"]
    assert seen["rehydrations"] >= 2  # evicted twice, brought back twice
    complaints = [line for line in seen["logs"] if line.startswith("aion_actors.telemetry")]
    assert len(complaints) == 2, seen["logs"]  # one per kind: evictions, rehydrations
    assert any("aion.runs.evictions" in line for line in complaints), complaints
    assert any("aion.runs.rehydrations" in line for line in complaints), complaints
    assert not [line for line in seen["logs"] if not line.startswith("aion_actors.telemetry")]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["tracer", "meter"])
def test_a_provider_that_cannot_give_a_tracer_or_meter_leaves_the_engine_untraced(
    tmp_path: Path, mode: str
) -> None:
    seen = _child(mode, tmp_path / "data")
    assert seen["result"] == "done"
    [complaint] = seen["logs"]
    assert complaint.startswith("aion_actors.telemetry")
    assert f"no {mode} today" in complaint  # what failed
    assert "no metrics and no traces" in complaint  # what it means
    assert "set_tracer_provider" in complaint and "set_meter_provider" in complaint  # what to do


def _commit(telemetry: OtelTelemetry, run_id: str, *events: ev.Event, seq: int = 1) -> None:
    stamped = [stamp(event, seq + i, seq + i) for i, event in enumerate(events)]
    telemetry.committed([AppendRequest(run_id, run_id, tuple(stamped), seq - 1)], [stamped], 0.001)


def _start(run_id: str) -> ev.WorkflowStarted:
    return ev.WorkflowStarted(workflow_type="t", input=[], run_id=run_id, version="v")


@pytest.mark.timeout(60)
def test_reports_falling_too_far_behind_are_dropped_with_a_warning_and_leave_no_span_open(
    otel: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    entered, gate = threading.Event(), threading.Event()

    def stuck(span: ReadableSpan) -> None:  # an exporter that hangs, until the gate opens
        entered.set()
        gate.wait(30)

    otel.fail(ending=stuck)
    telemetry = OtelTelemetry(lambda workflow_id, run_id: [], max_behind=4)
    _commit(
        telemetry,
        "r0",
        _start("r0"),
        ev.ActivityScheduled(activity_id="a", name="double", input=[1], attempt=1),
    )
    _commit(telemetry, "r0", ev.ActivityCompleted(activity_id="a", result=2), seq=3)
    assert entered.wait(10)  # the telemetry thread is stuck in the attempt's span
    _commit(telemetry, "r7", _start("r7"))
    for run_id in ("r1", "r2", "r3"):
        _commit(telemetry, run_id, _start(run_id), ev.WorkflowCompleted(result=1))
    began = time.monotonic()
    _commit(telemetry, "r7", ev.WorkflowCompleted(result=1), seq=2)  # 4 wait already: dropped
    _commit(telemetry, "r8", _start("r8"), ev.WorkflowCompleted(result=1))  # and so on
    assert time.monotonic() - began < 0.5  # the commits never waited
    gate.set()
    telemetry.close()

    [warning] = [r for r in _complaints(caplog) if "fell behind" in r.getMessage()]
    assert "BatchSpanProcessor" in warning.getMessage()
    runs = {s.attributes["aion.run_id"]: s for s in named(otel.spans, "run t") if s.attributes}
    assert sorted(runs) == ["r0", "r1", "r2", "r3"]  # r7 ended unseen, r8 never seen
    assert runs["r0"].attributes is not None
    assert runs["r0"].attributes["aion.stretch_end"] == "engine closed"
    assert all("aion.stretch_end" not in (runs[r].attributes or {}) for r in ("r1", "r2", "r3"))


def test_a_kind_of_failure_is_logged_once_then_at_most_once_a_while_with_its_count(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(guard, "QUIET", 0.2)
    complaints = guard.Complaints()
    for _ in range(5):
        with complaints.guard("ending a span", "run r"):
            raise RuntimeError("exporter down")
    with complaints.guard("counting a start"):
        raise RuntimeError("backend down")
    time.sleep(0.25)
    with complaints.guard("ending a span", "run r"):
        raise RuntimeError("exporter down")
    lines = [r.getMessage() for r in _complaints(caplog)]
    assert len(lines) == 3, lines
    assert lines[0].startswith("telemetry: ending a span failed (run r): RuntimeError: exporter")
    assert lines[1].startswith("telemetry: counting a start failed: RuntimeError: backend down")
    assert "4 more times since the last such line" in lines[2]
    assert [r.exc_info is not None for r in _complaints(caplog)] == [True, True, False]


class _HangingExporter(SpanExporter):
    """An exporter whose `export` does not return (a collector that never answers, no
    timeout) until `gate` opens."""

    def __init__(self) -> None:
        self.entered, self.gate = threading.Event(), threading.Event()

    def export(self, spans: Any) -> SpanExportResult:
        self.entered.set()
        self.gate.wait(120)
        return SpanExportResult.SUCCESS


def _telemetry_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "aion-telemetry"]


@pytest.mark.timeout(120)
def test_an_exporter_that_never_returns_holds_the_close_up_only_for_the_grace_and_is_named(
    tmp_path: Path, otel: Capture, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(otel_module, "CLOSE_GRACE", 1.0)
    before = set(threading.enumerate())
    exporter = _HangingExporter()
    otel.fail(ending=SimpleSpanProcessor(exporter).on_end)  # a real SDK processor and exporter
    try:
        engine = Engine.open(tmp_path / "data", workers=1)
        engine.register(*flows.ALL)
        assert engine.start(flows.traced_child, 3).result(timeout=30) == 6  # commits go on
        assert exporter.entered.wait(30)  # the telemetry thread is inside the export
        began = time.monotonic()
        engine.close()
        took = time.monotonic() - began
        assert took < 6, f"close() took {took:.1f} s with a grace of 1 s"
        [warning] = [r for r in _complaints(caplog) if "still inside one report" in r.getMessage()]
        said = warning.getMessage()
        assert "aion-telemetry" in said and "does not return" in said, said
        assert "left behind (a daemon: it ends with the process)" in said, said
        [left] = _telemetry_threads()  # the one thread the close may leave: documented
        assert left.daemon
    finally:
        exporter.gate.set()
    wait_until(lambda: not _telemetry_threads(), 10, "the abandoned thread to end")
    wait_until(lambda: set(threading.enumerate()) <= before, 10, "the engine's threads to end")
