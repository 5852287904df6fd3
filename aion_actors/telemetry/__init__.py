"""Metrics and traces: OpenTelemetry when it is installed (`pip install aion-actors[otel]`),
nothing at all otherwise.

The engine reports through the global providers (`opentelemetry.metrics.get_meter`,
`opentelemetry.trace.get_tracer`), so whatever SDK, exporters and views the
service sets up apply. See the README's "Metrics and traces" for the names.
"""

from __future__ import annotations

from aion_actors.telemetry.facade import Append, History, RunCounts, Telemetry
from aion_actors.telemetry.noop import NO_TELEMETRY, NoTelemetry

__all__ = [
    "NO_TELEMETRY",
    "Append",
    "History",
    "NoTelemetry",
    "RunCounts",
    "Telemetry",
    "default_telemetry",
]


def default_telemetry(history: History) -> Telemetry:
    """`OtelTelemetry` if `opentelemetry` imports, else `NO_TELEMETRY` (nothing imported)."""
    try:
        from aion_actors.telemetry.otel import OtelTelemetry
    except ImportError:
        return NO_TELEMETRY
    return OtelTelemetry(history)
