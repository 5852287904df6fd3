"""Metrics and traces on the console: an engine reporting through the OpenTelemetry SDK.

    pip install "aion-actors[otel]" opentelemetry-sdk
    python examples/otel_console.py [--data DIR]

The engine reports through the global providers, so it is the service's own
SDK setup (here: console exporters) that decides where spans and metrics go.
It prints each span as JSON (a run, each activity attempt — the first attempt
of `charge` fails and is retried — and the child run, whose span is a child of
its parent's), then the metrics once the engine closes. Spans go out through a
`BatchSpanProcessor`, in batches from a thread of its own: what a service
should use, since a `SimpleSpanProcessor` makes an exporter round trip per span.
"""

from __future__ import annotations

import argparse
import tempfile

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from aion_actors import Engine, RetryPolicy, WorkflowContext, activity, current_attempt, workflow


@activity(executor="thread", retry=RetryPolicy(max_attempts=3, initial=0.01))
def charge(amount: int) -> str:
    if current_attempt().attempt == 1:
        raise ConnectionError("the payment API timed out")
    return f"paid {amount}"


@activity(executor="thread")
def book_courier(order_id: str) -> str:
    return f"TRACK-{order_id}"


@workflow
async def shipping(ctx: WorkflowContext, order_id: str) -> str:
    return await ctx.activity(book_courier, order_id)


@workflow
async def order(ctx: WorkflowContext, order_id: str, amount: int) -> list[str]:
    paid = await ctx.activity(charge, amount)
    return [paid, await ctx.child(shipping, order_id)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data directory (default: a temporary one)")
    args = parser.parse_args()

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=60_000)
    meter_provider = MeterProvider(metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)

    with (
        tempfile.TemporaryDirectory() as scratch,
        Engine.open(args.data or scratch, workers=1) as engine,
    ):
        engine.register(order, shipping, charge, book_courier)
        print("result:", engine.start(order, "o-1", 1200, workflow_id="o-1").result(timeout=30))
    meter_provider.shutdown()  # exports the metrics one last time
    tracer_provider.shutdown()  # and the spans not exported yet


if __name__ == "__main__":
    main()
