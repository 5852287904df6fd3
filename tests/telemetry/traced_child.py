"""An engine process that traces to a JSON-lines file, starts `three_gated` and waits to be killed.

`python -m tests.telemetry.traced_child DATA_DIR LEDGER SPANS`
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from aion_actors import Engine
from tests.telemetry import flows
from tests.telemetry.capture import JsonLinesExporter


def main() -> None:
    data_dir, ledger, spans = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(spans)))
    trace.set_tracer_provider(provider)
    with Engine.open(data_dir, workers=1) as engine:
        engine.register(*flows.ALL)
        engine.start(flows.three_gated, ledger, workflow_id="k")
        time.sleep(60)


if __name__ == "__main__":
    main()
