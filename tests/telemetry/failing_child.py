"""An engine process whose OpenTelemetry SDK is broken in one way; prints what it saw as JSON.

`python -m tests.telemetry.failing_child MODE DATA_DIR`, MODE one of:

- ``instrument``: the `aion.runs.evictions` and `aion.runs.rehydrations` counters raise
  (an SDK view whose aggregation fails); a run waiting for two signals is evicted while
  idle, brought back by each signal, and ends.
- ``tracer`` / ``meter``: the tracer (meter) provider set raises from `get_tracer`
  (`get_meter`); the engine opens and a run completes.

The engine's own log lines (logger ``aion_actors``) are printed too, one per record.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import Aggregation, View
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer

from aion_actors import Engine, WorkflowContext, workflow
from tests.workers.helpers import wait_until


class FailingAggregation(Aggregation):
    """Every measurement of the instruments it is the view of raises."""

    def _create_aggregation(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the metrics backend is broken")


class FailingTracerProvider(TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> Tracer:
        raise RuntimeError("no tracer today")


class FailingMeterProvider(MeterProvider):
    def get_meter(self, *args: Any, **kwargs: Any) -> Meter:
        raise RuntimeError("no meter today")


@workflow
async def two_signals(ctx: WorkflowContext) -> str:
    first = await ctx.wait_signal("one")
    second = await ctx.wait_signal("two")
    return f"{first}{second}"


@workflow
async def trivial(ctx: WorkflowContext) -> str:
    return "done"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


def evicted(engine: Engine, workflow_id: str) -> bool:
    return engine.describe(workflow_id).residency == "evicted"


def main() -> None:
    mode, data_dir = sys.argv[1], sys.argv[2]
    logs = Lines()
    logging.getLogger("aion_actors").addHandler(logs)
    seen: dict[str, Any] = {}
    if mode == "instrument":
        failing = FailingAggregation()
        views = [
            View(instrument_name="aion.runs.evictions", aggregation=failing),
            View(instrument_name="aion.runs.rehydrations", aggregation=failing),
        ]
        metrics.set_meter_provider(MeterProvider([InMemoryMetricReader()], views=views))
        with Engine.open(data_dir, workers=1, idle_evict_after=0.1) as engine:
            engine.register(two_signals)
            handle = engine.start(two_signals, workflow_id="idle")
            wait_until(lambda: evicted(engine, "idle"), 10, "the idle run's eviction")
            engine.signal("idle", "one", "A")
            wait_until(lambda: evicted(engine, "idle"), 10, "the idle run's second eviction")
            engine.signal("idle", "two", "B")
            seen["result"] = handle.result(timeout=10)
            seen["restarts"] = engine.describe("idle").restarts
            seen["history"] = [event.kind for event in engine.history("idle")]
            seen["rehydrations"] = engine.stats()["rehydrations"]
    else:
        if mode == "tracer":
            trace.set_tracer_provider(FailingTracerProvider())
        else:
            metrics.set_meter_provider(FailingMeterProvider())
        began = time.monotonic()
        with Engine.open(data_dir, workers=1) as engine:
            engine.register(trivial)
            seen["result"] = engine.start(trivial).result(timeout=10)
        seen["seconds"] = time.monotonic() - began
    seen["logs"] = logs.lines
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
