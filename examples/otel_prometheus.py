"""A Prometheus scrape of the engine's metrics.

    pip install "aion-actors[otel]" opentelemetry-sdk opentelemetry-exporter-prometheus
    python examples/otel_prometheus.py --port 9464      # then: curl localhost:9464/metrics

It serves `/metrics` (prometheus_client's HTTP server, fed by the
OpenTelemetry Prometheus reader), runs a few workflows, scrapes itself once
and prints the `aion_*` lines, then, with `--serve`, keeps serving until
Ctrl-C. Prometheus names are the OpenTelemetry names with `_` for `.`, a
unit suffix and `_total` on counters: `aion_runs_started_total`,
`aion_activity_duration_seconds_bucket`, `aion_runs_resident`, ...
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import urllib.request

from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import start_http_server

from aion_actors import Engine, WorkflowContext, activity, workflow


@activity(executor="thread")
def add(a: int, b: int) -> int:
    return a + b


@workflow
async def total(ctx: WorkflowContext, values: list[int]) -> int:
    result = 0
    for value in values:
        result = await ctx.activity(add, result, value)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9464, help="0 picks a free port")
    parser.add_argument("--data", help="data directory (default: a temporary one)")
    parser.add_argument("--serve", action="store_true", help="keep serving /metrics")
    args = parser.parse_args()

    server, _thread = start_http_server(args.port, addr="127.0.0.1")
    port = server.server_address[1]
    metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))

    with (
        tempfile.TemporaryDirectory() as scratch,
        Engine.open(args.data or scratch, workers=1) as engine,
    ):
        engine.register(total, add)
        handles = [engine.start(total, [1, 2, 3], workflow_id=f"t-{i}") for i in range(5)]
        print("results:", [handle.result(timeout=30) for handle in handles])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            scraped = r.read().decode()
        print(f"scraped http://127.0.0.1:{port}/metrics:")
        for line in scraped.splitlines():
            if line.startswith("aion_"):
                print(" ", line)
        if args.serve:
            print("serving /metrics; Ctrl-C stops", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    server.shutdown()


if __name__ == "__main__":
    main()
