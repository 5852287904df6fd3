"""Run alone (fresh interpreter, no provider set): `OtelTelemetry` does no work per
event until the service sets a provider, then traces from the next commit on."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from aion_actors.core import Event, stamp
from aion_actors.core import events as ev
from aion_actors.store.protocol import AppendRequest
from aion_actors.telemetry.otel import OtelTelemetry, configured

reads: list[str] = []
history: list[Event] = []


def read(workflow_id: str, run_id: str) -> Sequence[Event]:
    reads.append(run_id)
    return list(history)


def commit(telemetry: OtelTelemetry, event: Event) -> None:
    event = stamp(event, len(history) + 1, 1)
    history.append(event)
    telemetry.committed([AppendRequest("w", "r", (event,), event.seq - 1)], [[event]], 0.001)


telemetry = OtelTelemetry(read)
assert not configured()
commit(telemetry, ev.WorkflowStarted(workflow_type="t", input=[], run_id="r", version="v"))
commit(telemetry, ev.ActivityScheduled(activity_id="1", name="a", input=[], attempt=1))
assert telemetry._runs == {} and reads == []  # noqa: SLF001 - nothing was done per event
trace.set_tracer_provider(TracerProvider())
assert configured()
commit(telemetry, ev.ActivityCompleted(activity_id="1", result=1))
assert telemetry.flush(10)  # (reports are made in a thread of their own)
assert len(telemetry._runs) == 1 and reads == ["r"]  # noqa: SLF001 - the run's span began
telemetry.close()
print("ok")
