"""The spans of one run: its own (one per live stretch), its activity attempts', and
its supervision events', all children of the run's span.

Every span is built from committed events and timed by their `recorded_at`:
an attempt's span runs from its `ActivityScheduled` to its outcome, so an
attempt scheduled before an engine restart and ended after it gets one span,
emitted by the engine that recorded its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, Status, StatusCode, Tracer

from aion_actors.core import ACTIVITY_TIMEOUT, ATTEMPT_TIMEOUT
from aion_actors.core import events as ev

#: how each ending closes a run, as the `outcome` attribute says it
OUTCOMES: dict[type[ev.Event], str] = {
    ev.WorkflowCompleted: "completed",
    ev.WorkflowFailed: "failed",
    ev.WorkflowCancelled: "cancelled",
    ev.WorkflowTerminated: "terminated",
    ev.WorkflowTimedOut: "timed_out",
    ev.WorkflowContinuedAsNew: "continued_as_new",
    ev.WorkflowReset: "reset",
}
_ERRONEOUS = frozenset({"failed", "timed_out"})


def attempt_outcome(error: ev.ErrorInfo) -> str:
    kind = error.get("type")
    if kind in (ACTIVITY_TIMEOUT, ATTEMPT_TIMEOUT):
        return "timed_out"
    return "cancelled" if kind == "ActivityCancelled" else "failed"


def _describe(error: ev.ErrorInfo) -> str:
    return f"{error.get('type', 'Error')}: {error.get('message', '')}"


@dataclass(slots=True)
class RunSpans:
    """A run as this engine traces it, from its first event committed here to its end."""

    workflow_id: str
    run_id: str
    workflow_type: str
    span: Span
    #: the attempt each activity runs now (its `ActivityScheduled`), until its outcome
    attempts: dict[str, ev.ActivityScheduled] = field(default_factory=dict)

    @classmethod
    def begin(
        cls,
        tracer: Tracer,
        started: ev.WorkflowStarted,
        workflow_id: str,
        parent: Span | None,
        links: Sequence[Link],
        *,
        resumed: bool,
    ) -> RunSpans:
        """The run's span: from its start if it starts now; else from now (`resumed`)."""
        attributes: dict[str, Any] = {
            "aion.workflow_type": started.workflow_type,
            "aion.workflow_id": workflow_id,
            "aion.run_id": started.run_id,
            "aion.resumed": resumed,
        }
        if started.parent:
            attributes["aion.parent_workflow_id"] = str(started.parent.get("workflow_id"))
            attributes["aion.parent_run_id"] = str(started.parent.get("run_id"))
        context = Context() if parent is None else trace.set_span_in_context(parent, Context())
        span = tracer.start_span(
            f"run {started.workflow_type}",
            context=context,
            links=links,
            start_time=None if resumed else started.recorded_at,
            attributes=attributes,
        )
        return cls(workflow_id, started.run_id, started.workflow_type, span)

    def fold(self, event: ev.Event) -> None:
        """Learn, from history recorded before this engine saw the run, what is in flight."""
        if isinstance(event, ev.ActivityScheduled):
            self.attempts[event.activity_id] = event
        elif isinstance(event, ev.ActivityCompleted | ev.ActivityAttemptFailed | ev.ActivityFailed):
            self.attempts.pop(event.activity_id, None)

    @property
    def context(self) -> SpanContext:
        return self.span.get_span_context()

    def end(self, event: ev.Event, outcome: str, reason: str = "") -> None:
        self.span.set_attribute("aion.outcome", outcome)
        if outcome in _ERRONEOUS or outcome == "parked":
            self.span.set_status(Status(StatusCode.ERROR, reason or outcome))
        self.span.end(end_time=event.recorded_at)

    def attempt(
        self, tracer: Tracer, scheduled: ev.ActivityScheduled, end: ev.Event, outcome: str
    ) -> None:
        """The span of one attempt, from its schedule to its outcome `end`."""
        span = tracer.start_span(
            f"activity {scheduled.name}",
            context=trace.set_span_in_context(self.span, Context()),
            start_time=scheduled.recorded_at,
            attributes={
                "aion.workflow_type": self.workflow_type,
                "aion.workflow_id": self.workflow_id,
                "aion.run_id": self.run_id,
                "aion.activity": scheduled.name,
                "aion.activity_id": scheduled.activity_id,
                "aion.attempt": scheduled.attempt,
                "aion.outcome": outcome,
            },
        )
        error = getattr(end, "error", None)
        if outcome != "completed" and isinstance(error, dict):
            span.set_status(Status(StatusCode.ERROR, _describe(error)))
        span.end(end_time=max(end.recorded_at, scheduled.recorded_at))

    def supervision(self, tracer: Tracer, event: ev.Event) -> None:
        """An instant span for a crash, a restart or a parking of the run."""
        attributes: dict[str, Any] = {
            "aion.workflow_type": self.workflow_type,
            "aion.workflow_id": self.workflow_id,
            "aion.run_id": self.run_id,
        }
        status = None
        if isinstance(event, ev.RunCrashed):
            name, status = "crash", Status(StatusCode.ERROR, _describe(event.error))
            attributes["aion.pid"] = event.pid
        elif isinstance(event, ev.RunRestarted):
            name = "restart"
            attributes["aion.restart_attempt"] = event.attempt
            attributes["aion.backoff_s"] = event.backoff
        else:
            assert isinstance(event, ev.RunParked)
            name, status = "park", Status(StatusCode.ERROR, event.reason)
            attributes["aion.reason"] = event.reason
        span = tracer.start_span(
            f"{name} {self.workflow_type}",
            context=trace.set_span_in_context(self.span, Context()),
            start_time=event.recorded_at,
            attributes=attributes,
        )
        if status is not None:
            span.set_status(status)
        span.end(end_time=event.recorded_at)
