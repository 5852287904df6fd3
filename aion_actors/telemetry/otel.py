"""`OtelTelemetry`: metrics and spans from what is committed live, through the global
OpenTelemetry providers (so the service's own SDK setup applies).

Importing this module imports `opentelemetry`; `default_telemetry` does so
only when it is installed. Replay records nothing, so it reports nothing: a
run rebuilt after a crash, an eviction or an engine restart adds no count and
no span for what it had done. A run this engine first sees after a restart
gets a new span (attribute `aion.resumed`), from its first event committed
here to its end: a span per live stretch, since a span started by a killed
process can never end.

While neither a tracer provider nor a meter provider is set (the API alone
is installed, its proxies lead nowhere), a commit costs a check and nothing
more; once one is set, a run already open is first seen at its next commit
and gets a span from then on, as after a restart.

The reports are made in a thread of their own (`Reporter`): a commit only
queues them, so a slow exporter holds up no commit. Each report (a count, a
span) is guarded on its own: one that raises is logged and lost, no other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as _metrics_api
from opentelemetry.trace import (
    INVALID_SPAN,
    Link,
    NoOpTracerProvider,
    ProxyTracerProvider,
    SpanContext,
)

from aion_actors.core import Event, RunKey
from aion_actors.core import events as ev
from aion_actors.telemetry import instruments as inst
from aion_actors.telemetry.facade import Append, History, RunCounts
from aion_actors.telemetry.guard import Complaints, Guard
from aion_actors.telemetry.reporter import Reporter
from aion_actors.telemetry.spans import OUTCOMES, RunSpans, attempt_outcome

#: how many runs without a start `OtelTelemetry` remembers not to read again
_UNTRACED = 4096
#: appends whose reports may wait for the telemetry thread at once; more are dropped
MAX_BEHIND = 10_000
#: seconds the engine's close waits for the reports still waiting (and a report under
#: way then, from its start: one that hangs is left behind, see `Reporter.close`)
CLOSE_GRACE = 5.0

_ATTEMPT_ENDS = (ev.ActivityCompleted, ev.ActivityAttemptFailed, ev.ActivityFailed)
#: the events after which a run has no span here
_ENDINGS = frozenset((*OUTCOMES, ev.RunParked))

#: a commit to report: its appends, their results, how long it took
_Commit = tuple[Sequence[Append], Sequence[Sequence[Event] | BaseException], float]


class _Lost:
    """Runs that ended in commits whose reports were dropped: their spans are let go."""

    __slots__ = ("runs",)

    def __init__(self, runs: list[RunKey]) -> None:
        self.runs = runs


class _Closing:
    """The engine closes: the spans of the runs still open end."""


class OtelTelemetry:
    def __init__(
        self, history: History, *, max_behind: int = MAX_BEHIND, grace: float | None = None
    ) -> None:
        self._history = history
        self._m = inst.instruments()
        self._tracer = trace.get_tracer(inst.SCOPE)
        #: runs with a live span in this engine (open ones only)
        self._runs: dict[RunKey, RunSpans] = {}
        #: spans of runs that continued as new, for their successor's link
        self._predecessors: dict[RunKey, SpanContext] = {}
        #: runs whose history has no start (nothing to trace), so it is read once, not on
        #: every commit; the most recent `_UNTRACED` of them, oldest first
        self._untraced: dict[RunKey, None] = {}
        self._watched: Callable[[], RunCounts] | None = None
        self._complaints = Complaints()
        #: the thread the reports are made in; all the state above is its own
        self._reporter: Reporter[_Commit | _Lost | _Closing] = Reporter(
            self._report,
            self._complaints,
            limit=max_behind,
            grace=CLOSE_GRACE if grace is None else grace,
        )

    # -- Telemetry

    def committed(
        self,
        appends: Sequence[Append],
        results: Sequence[Sequence[Event] | BaseException],
        seconds: float,
    ) -> None:
        if not configured():
            return  # nobody would see a thing: no work per event
        if self._reporter.put((appends, results, seconds), len(appends)):
            return
        ended = [  # dropped: at least the spans of the runs it ended are let go
            RunKey(append.workflow_id, append.run_id)
            for append, result in zip(appends, results, strict=True)
            if not isinstance(result, BaseException) and any(type(e) in _ENDINGS for e in result)
        ]
        if ended:
            self._reporter.put(_Lost(ended), 0)

    def evicted(self, workflow_type: str) -> None:
        self._m.evictions.add(1, {"workflow_type": workflow_type})

    def rehydrated(self, workflow_type: str) -> None:
        self._m.rehydrations.add(1, {"workflow_type": workflow_type})

    def watch_runs(self, counts: Callable[[], RunCounts]) -> None:
        self._watched = counts
        inst.watch(counts)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the commits reported so far are (False: `timeout` passed first)."""
        return self._reporter.flush(timeout)

    def close(self) -> None:
        """The reports still waiting are made (for up to `CLOSE_GRACE` s), then the spans
        of the runs still open end, and the telemetry thread stops. Never raises."""
        if self._watched is not None:
            inst.unwatch(self._watched)
        if self._reporter.started:  # (else nothing was ever reported: no span to end)
            self._reporter.put(_Closing(), 0)
        self._reporter.close()

    # -- in the telemetry thread

    def _report(self, item: _Commit | _Lost | _Closing) -> None:
        if isinstance(item, _Lost):
            for key in item.runs:
                self._runs.pop(key, None)
            return
        if isinstance(item, _Closing):
            self._end_stretches()
            return
        appends, results, seconds = item
        with self._complaints.guard("recording a commit (aion.recorder.*)"):
            self._m.batch_size.record(len(appends))
            self._m.commit_duration.record(seconds)
        for append, result in zip(appends, results, strict=True):
            if isinstance(result, BaseException) or not result:
                continue
            where = f"workflow {append.workflow_id} run {append.run_id}"
            with self._complaints.guard("reporting a run's events", where):
                self._run_events(RunKey(append.workflow_id, append.run_id), result)

    def _end_stretches(self) -> None:
        """This live stretch of each run still open ends; a later engine starts another."""
        runs, self._runs = self._runs, {}
        self._predecessors.clear()
        for run in runs.values():
            if self._reporter.late():
                return  # (never exported, as if the process had been killed)
            with self._guard("ending a run's span as the engine closes", run):
                run.span.set_attribute("aion.stretch_end", "engine closed")
                run.span.end()

    def _guard(self, kind: str, run: RunSpans) -> Guard:
        return self._complaints.guard(kind, f"workflow {run.workflow_id} run {run.run_id}")

    # -- one committed append

    def _run_events(self, key: RunKey, events: Sequence[Event]) -> None:
        run = self._runs.get(key)
        if run is None:
            run = self._begin(key, events[0])
            if run is None:
                return
        copied = _copied_until(events[0])
        for event in events:
            if event.seq <= copied and not isinstance(event, ev.WorkflowStarted):
                run.fold(event)  # a prefix `engine.reset` copied: reported when first recorded
                continue
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, run, event)

    def _begin(self, key: RunKey, first: Event) -> RunSpans | None:
        """The run's span: from its start, or (first seen after a restart) from now."""
        prior: Sequence[Event] = ()
        if isinstance(first, ev.WorkflowStarted):
            started, resumed = first, False
            self._untraced.pop(key, None)
        elif key in self._untraced:
            return None
        else:
            prior = [e for e in self._history(*key) if e.seq < first.seq]
            if not prior or not isinstance(prior[0], ev.WorkflowStarted):
                self._untraced[key] = None  # (a history's start never changes)
                if len(self._untraced) > _UNTRACED:
                    del self._untraced[next(iter(self._untraced))]
                return None
            started, resumed = prior[0], True
        parent = None
        if started.parent:
            parent_key = RunKey(str(started.parent["workflow_id"]), str(started.parent["run_id"]))
            parent_run = self._runs.get(parent_key)
            parent = parent_run.span if parent_run is not None else None
        predecessor = self._predecessors.pop(key, None)
        links = [Link(predecessor)] if predecessor is not None else []
        try:
            run = RunSpans.begin(
                self._tracer, started, key.workflow_id, parent, links, resumed=resumed
            )
        except Exception as exc:  # counted all the same, its activities spans of their own
            where = f"workflow {key.workflow_id} run {key.run_id}"
            self._complaints.failed("starting a run's span", exc, where)
            run = RunSpans(key.workflow_id, started.run_id, started.workflow_type, INVALID_SPAN)
        for event in prior:
            run.fold(event)
        self._runs[key] = run
        return run

    # -- what each event reports: what the run's state needs first, then each report guarded

    def _started(self, run: RunSpans, event: Event) -> None:
        with self._guard("counting a run's start (aion.runs.started)", run):
            self._m.runs_started.add(1, {"workflow_type": run.workflow_type})

    def _scheduled(self, run: RunSpans, event: Event) -> None:
        assert isinstance(event, ev.ActivityScheduled)
        run.attempts[event.activity_id] = event
        with self._guard("counting an activity attempt (aion.activity.attempts)", run):
            attributes = {"workflow_type": run.workflow_type, "activity": event.name}
            self._m.activity_attempts.add(1, attributes)

    def _attempt_ended(self, run: RunSpans, event: Event) -> None:
        assert isinstance(
            event, ev.ActivityCompleted | ev.ActivityAttemptFailed | ev.ActivityFailed
        )
        scheduled = run.attempts.pop(event.activity_id, None)
        if scheduled is None:  # already ended: an activity failing for good after its attempt
            return
        outcome = "completed"
        if not isinstance(event, ev.ActivityCompleted):
            outcome = attempt_outcome(event.error)
        with self._guard("recording an attempt (aion.activity.failures, .duration)", run):
            attributes = {"workflow_type": run.workflow_type, "activity": scheduled.name}
            if outcome != "completed":
                self._m.activity_failures.add(1, attributes)
            seconds = max(0, event.recorded_at - scheduled.recorded_at) / 1e9
            self._m.activity_duration.record(seconds, {**attributes, "outcome": outcome})
        with self._guard("the span of an activity attempt", run):
            run.attempt(self._tracer, scheduled, event, outcome)

    def _supervised(self, run: RunSpans, event: Event) -> None:
        if isinstance(event, ev.RunParked):
            del self._runs[RunKey(run.workflow_id, run.run_id)]
        counter, name = {
            ev.RunCrashed: (self._m.crashes, "aion.runs.crashes"),
            ev.RunRestarted: (self._m.restarts, "aion.runs.restarts"),
            ev.RunParked: (self._m.runs_parked, "aion.runs.parked"),
        }[type(event)]
        with self._guard(f"counting a supervision event ({name})", run):
            counter.add(1, {"workflow_type": run.workflow_type})
        with self._guard("the span of a crash, restart or park", run):
            run.supervision(self._tracer, event)
        if isinstance(event, ev.RunParked):
            with self._guard("ending a run's span", run):
                run.end(event, "parked", event.reason)

    def _closed(self, run: RunSpans, event: Event) -> None:
        key = RunKey(run.workflow_id, run.run_id)
        del self._runs[key]
        if isinstance(event, ev.WorkflowContinuedAsNew | ev.WorkflowReset) and run.context.is_valid:
            self._predecessors[RunKey(key.workflow_id, event.next_run_id)] = run.context  # a link
        outcome = OUTCOMES[type(event)]
        with self._guard("counting a run's end (aion.runs.closed)", run):
            self._m.runs_closed.add(1, {"workflow_type": run.workflow_type, "outcome": outcome})
        error = getattr(event, "error", None)
        with self._guard("ending a run's span", run):
            run.end(event, outcome, f"{error.get('type')}: {error.get('message')}" if error else "")


def configured() -> bool:
    """Whether the service set an OpenTelemetry tracer or meter provider (the API's
    default proxies, or no-op providers, report nowhere). Asked at every commit, so
    answered cheaply (see `_Providers`)."""
    return _PROVIDERS.configured()


def _configured_now() -> bool:
    unset = isinstance(trace.get_tracer_provider(), ProxyTracerProvider | NoOpTracerProvider)
    meters = type(metrics.get_meter_provider()).__name__
    return not (unset and meters in ("_ProxyMeterProvider", "NoOpMeterProvider"))


#: a module global of OpenTelemetry's API that a future version may not have
_MISSING = object()
#: seconds between two reads of the environment while no provider is set
ENV_RECHECK = 0.5


class _Providers:
    """`configured`, without reading the environment at every commit.

    A provider is set once for good (OpenTelemetry refuses a second), so a yes is
    kept. While none is set, the API's own getters look up two environment variables
    (``OTEL_PYTHON_*_PROVIDER``, 3 to 4 µs a commit); instead, a provider set in code is
    seen at once (the API's module globals), and one named by those variables at the
    first commit `ENV_RECHECK` seconds after the last look.
    """

    __slots__ = ("_looked", "_yes")

    def __init__(self) -> None:
        #: a provider is set: never again false
        self._yes = False
        #: monotonic time of the last full look while nothing was set in code
        self._looked = -ENV_RECHECK

    def configured(self) -> bool:
        if self._yes:
            return True
        tracer = getattr(trace, "_TRACER_PROVIDER", _MISSING)
        meter = getattr(_metrics_api, "_METER_PROVIDER", _MISSING)
        if tracer is None and meter is None:  # nothing set in code: only the environment
            now = time.monotonic()
            if now - self._looked < ENV_RECHECK:
                return False
            self._looked = now
        self._yes = _configured_now()
        return self._yes


_PROVIDERS = _Providers()


def _copied_until(first: Event) -> int:
    """The last seq of the history a reset run copied from the run it went on from (0: none)."""
    if isinstance(first, ev.WorkflowStarted) and first.reset_from:
        return int(first.reset_from["seq"])
    return 0


_Handler = Callable[[OtelTelemetry, RunSpans, Event], None]
_HANDLERS: dict[type[Event], _Handler] = {
    ev.WorkflowStarted: OtelTelemetry._started,  # noqa: SLF001 -- the handler table of its own class
    ev.ActivityScheduled: OtelTelemetry._scheduled,  # noqa: SLF001 -- as above
    ev.ActivityCompleted: OtelTelemetry._attempt_ended,  # noqa: SLF001 -- as above
    ev.ActivityAttemptFailed: OtelTelemetry._attempt_ended,  # noqa: SLF001 -- as above
    ev.ActivityFailed: OtelTelemetry._attempt_ended,  # noqa: SLF001 -- as above
    ev.RunCrashed: OtelTelemetry._supervised,  # noqa: SLF001 -- as above
    ev.RunRestarted: OtelTelemetry._supervised,  # noqa: SLF001 -- as above
    ev.RunParked: OtelTelemetry._supervised,  # noqa: SLF001 -- as above
    **{kind: OtelTelemetry._closed for kind in OUTCOMES},  # noqa: SLF001 -- as above
}
