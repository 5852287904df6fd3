"""An OpenTelemetry SDK set up once per test process, capturing spans and metrics in memory.

The global providers can be set only once per process, so a test takes a
`Capture` (fixture `otel`): spans end up in its exporter while it is the
current one, and metric readings are compared before and after (counters
are cumulative over the process).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

Reading = dict[tuple[str, frozenset[tuple[str, Any]]], float]


class _Switch(SpanProcessor):
    """Sends ended spans to the current test's list (none between tests).

    A test may make it fail or dawdle, as a broken or slow exporter would: `starting`
    is called with each span as it starts, `ending` with each span as it ends (before
    it is kept); an exception either raises goes to whoever started or ended the span.
    """

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] | None = None
        self.starting: Callable[[Span], None] | None = None
        self.ending: Callable[[ReadableSpan], None] | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.starting is not None:
            self.starting(span)

    def on_end(self, span: ReadableSpan) -> None:
        if self.ending is not None:
            self.ending(span)
        if self.spans is not None:
            self.spans.append(span)


class Capture:
    def __init__(self) -> None:
        self._switch = _Switch()
        provider = TracerProvider()
        provider.add_span_processor(self._switch)
        trace.set_tracer_provider(provider)
        self._reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[self._reader]))

    def begin(self) -> None:
        self._switch.spans = []

    def fail(
        self,
        *,
        starting: Callable[[Span], None] | None = None,
        ending: Callable[[ReadableSpan], None] | None = None,
    ) -> None:
        """Have the span processor call these (to raise, or to sleep) until the test ends."""
        self._switch.starting, self._switch.ending = starting, ending

    @property
    def spans(self) -> list[ReadableSpan]:
        """The spans ended since this test began."""
        return list(self._switch.spans or [])

    def end(self) -> None:
        self._switch.spans = None
        self._switch.starting = self._switch.ending = None

    def read(self) -> Reading:
        """Each counter's sum and each histogram's count, by name and attributes."""
        reading: Reading = {}
        data = self._reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        value = getattr(point, "count", None)
                        if value is None or not hasattr(point, "bucket_counts"):
                            value = point.value  # type: ignore[union-attr]
                        attrs = frozenset((point.attributes or {}).items())
                        reading[(metric.name, attrs)] = value
        return reading


def delta(before: Reading, after: Reading, name: str, **attributes: Any) -> float:
    """What `name` (its points whose attributes include `attributes`) gained."""
    wanted = set(attributes.items())
    total = 0.0
    for (metric, attrs), value in after.items():
        if metric == name and wanted <= set(attrs):
            total += value - before.get((metric, attrs), 0)
    return total


def named(spans: Sequence[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


class JsonLinesExporter(SpanExporter):
    """Writes each ended span as a JSON line (for an engine process the test kills)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._path.open("a") as f:
            for span in spans:
                f.write(json.dumps(summary(span)) + "\n")
                f.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def summary(span: ReadableSpan) -> dict[str, Any]:
    context, parent = span.get_span_context(), span.parent
    return {
        "name": span.name,
        "attributes": dict(span.attributes or {}),
        "trace_id": context.trace_id if context else None,
        "span_id": context.span_id if context else None,
        "parent_span_id": parent.span_id if parent else None,
    }


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    if path.exists():
        for line in path.read_text().splitlines():
            yield json.loads(line)
