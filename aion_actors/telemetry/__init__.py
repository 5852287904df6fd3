"""Metrics and traces: OpenTelemetry when it is installed (`pip install aion-actors[otel]`),
nothing at all otherwise.

The engine reports through the global providers (`opentelemetry.metrics.get_meter`,
`opentelemetry.trace.get_tracer`), so whatever SDK, exporters and views the
service sets up apply. See the README's "Metrics and traces" for the names.
Telemetry never costs the engine a commit: what fails is logged and lost (`guard`).
"""

from __future__ import annotations

import logging

from aion_actors.telemetry.facade import Append, History, RunCounts, Telemetry
from aion_actors.telemetry.guard import Guarded, guarded
from aion_actors.telemetry.noop import NO_TELEMETRY, NoTelemetry

log = logging.getLogger("aion_actors.telemetry")

__all__ = [
    "NO_TELEMETRY",
    "Append",
    "Guarded",
    "History",
    "NoTelemetry",
    "RunCounts",
    "Telemetry",
    "default_telemetry",
    "guarded",
]


def default_telemetry(history: History) -> Telemetry:
    """`OtelTelemetry` (guarded) if `opentelemetry` imports, else `NO_TELEMETRY` (nothing
    imported); `NO_TELEMETRY` too, logged, if the providers set cannot give a tracer or
    a meter."""
    try:
        from aion_actors.telemetry.otel import OtelTelemetry
    except ImportError:
        return NO_TELEMETRY
    try:
        return Guarded(OtelTelemetry(history))
    except Exception as exc:
        log.error(
            "OpenTelemetry could not give the engine a tracer and a meter (%s: %s): this "
            "engine reports no metrics and no traces. Fix the providers the service sets "
            "(opentelemetry.trace.set_tracer_provider, opentelemetry.metrics."
            "set_meter_provider) and reopen the engine",
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        return NO_TELEMETRY
