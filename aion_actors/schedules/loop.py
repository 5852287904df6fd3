"""The built-in workflow a schedule runs as: `schedule:<name>`, of type `aion.schedule`.

A schedule is an ordinary durable run, so everything that keeps runs safe
keeps it safe: its definition is its input, its next fire time is a durable
timer (`ctx.sleep`) in the store's timer index, so the timer service wakes it
without polling; each firing is a recorded `ctx.start_child` of the target
workflow with workflow_id `<name>-<scheduled time>` and
`on_parent_close="abandon"`. A kill anywhere replays the schedule's history
up to its last recorded decision: a time it fired is never fired again (the
child start is in history), and a time it had not decided yet is decided
after the restart — fired if still inside `catchup_window`, else counted
missed. Management (`set`, `pause`, `unpause`, `trigger`, `delete`) are
updates, recorded and answered once; each publishes the schedule's state as
search attributes, which `list_schedules` and `aion-actors schedules` read.
Past `_ROLL_OVER` firings it continues as new (keeping its counters), so its
history stays short and the runs it fired can be pruned.
"""

from __future__ import annotations

import contextlib
from typing import Any

from aion_actors.runtime.commands import ChildWorkflowError, ExternalWorkflowError
from aion_actors.runtime.context import WorkflowContext
from aion_actors.runtime.definitions import WorkflowDefinition, workflow
from aion_actors.schedules.spec import SCHEDULE_WORKFLOW, ScheduleSpec, ns_of
from aion_actors.schedules.state import ScheduleState

_ROLL_OVER = 100
SET, PAUSE, UNPAUSE, TRIGGER, DELETE = (
    "aion.schedule.set",
    "aion.schedule.pause",
    "aion.schedule.unpause",
    "aion.schedule.trigger",
    "aion.schedule.delete",
)
DESCRIBE = "aion.schedule.describe"
#: the patch under which a time its timer fired a little late is on time (`state`)
LATE_TIMER = "aion.schedule.late-timer-on-time"
#: the patch under which a firing waiting to start gives way to management (`_start`)
YIELDING = "aion.schedule.firing-yields"


@workflow(name=SCHEDULE_WORKFLOW)
async def run_schedule(
    ctx: WorkflowContext, spec: dict[str, Any], carried: dict[str, Any] | None = None
) -> dict[str, Any]:
    state = ScheduleState.begin(ScheduleSpec.of(spec), carried, ns_of(ctx.now()))
    _Updates(ctx, state).install()
    ctx.on_query(DESCRIBE, lambda: {"spec": state.spec.payload(), **state.carried()})
    published: dict[str, Any] = {}
    while not state.deleted:
        now = ns_of(ctx.now())
        state.collect_due(now, slack=state.slack_decides(now) and _has_slack(ctx, state))
        while state.pending:
            await _fire(ctx, state, state.pending.pop(0))
        if state.deleted and state.yields:  # deleted while it fired: it ends now
            break
        state.changed = False
        published = _publish(ctx, state, published)
        if state.fired_here >= _ROLL_OVER and state.running is None and state.buffered is None:
            ctx.continue_as_new(state.spec.payload(), state.carried())
        waits: list[Any] = [ctx.wait_condition(lambda: state.changed)]
        next_fire = state.next_fire()
        if next_fire is not None:
            waits.append(ctx.sleep(max(0.0, (next_fire - ns_of(ctx.now())) / 1e9)))
        if state.running is not None:
            waits.append(state.running.result())
        try:
            index, _ = await ctx.wait_first(*waits)
        except ChildWorkflowError:  # the run it fired failed or was cancelled: it is closed
            index = len(waits) - 1
        if state.running is not None and index == len(waits) - 1:
            state.running = None
            if state.buffered is not None:
                state.pending.append(state.buffered)
                state.buffered = None
    return state.carried()


def _has_slack(ctx: WorkflowContext, state: ScheduleState) -> bool:
    """Whether this run fires a time its timer woke for a little late (`state._LATE_NS`)
    with a `catchup_window` under it. A run from before that counted it missed, and
    replays so; live, it goes on as a new run, which fires it (the marker of the time it
    decided so makes it replay so too)."""
    if ctx.patched(LATE_TIMER):
        return True
    alone = state.running is None and state.buffered is None  # (continue-as-new drops them)
    if alone and ctx.patched(f"{LATE_TIMER}@{state.cursor}"):
        ctx.continue_as_new(state.spec.payload(), state.carried())
    return False


async def _fire(ctx: WorkflowContext, state: ScheduleState, at: int) -> None:
    """Start the run for time `at`, unless the overlap rule says otherwise."""
    overlap = state.spec.overlap
    if state.running is not None:
        if overlap == "skip" or (overlap == "buffer_one" and state.buffered is not None):
            state.skipped += 1
            return
        if overlap == "buffer_one":
            state.buffered = at
            return
        if overlap == "cancel_previous":
            with contextlib.suppress(ExternalWorkflowError):  # it may have closed meanwhile
                await state.running.cancel("a newer firing of its schedule replaces it")
            state.running = None
    try:
        handle = await _start(ctx, state, at, yielding=True)
    except ChildWorkflowError as exc:
        if exc.error.get("type") == "WorkflowAlreadyStarted":  # (a trigger_now of that instant)
            state.skipped += 1
        else:  # it cannot start (its workflow no longer takes the schedule's args)
            state.failed += 1
            state.changed = True  # published by the loop
        return
    if handle is not None and overlap != "allow":
        state.running = handle


async def _start(
    ctx: WorkflowContext, state: ScheduleState, at: int, *, yielding: bool = False
) -> Any:
    """Start the run of time `at`; its `ChildHandle`. `yielding` (the loop's firings):
    None if, while the start waits — for its workflow to be registered, which may never
    come (gone from the code after a restart) — an update pauses, deletes or changes the
    schedule: the loop goes on with it (the start stays asked for: it starts if that
    workflow is ever registered, abandoned as the schedule's runs are)."""
    spec, seen = state.spec, state.updates
    workflow_id = spec.firing_id(at)
    start = ctx.start_child(
        spec.workflow, *spec.args, workflow_id=workflow_id, on_parent_close="abandon"
    )
    state.yields = state.yields or (yielding and ctx.patched(YIELDING))
    if yielding and state.yields:  # (schedules from before it replay as they were)

        def managed() -> bool:
            changed = state.deleted or state.paused or state.spec != spec
            return state.updates != seen and changed

        index, handle = await ctx.wait_first(start, ctx.wait_condition(managed))
        if index == 1:
            return None
    else:
        handle = await start
    state.fired += 1
    state.fired_here += 1
    state.last_run = workflow_id
    state.changed = True  # published by the loop
    return handle


def _publish(
    ctx: WorkflowContext, state: ScheduleState, published: dict[str, Any]
) -> dict[str, Any]:
    """Record the attributes that changed since `published`; the attributes now."""
    now = state.attributes()
    changed = {k: v for k, v in now.items() if published.get(k, ...) != v}
    if changed:
        ctx.set_attributes(changed)
    return now


class _Updates:
    """The management updates: each changes the state, then wakes the schedule's loop."""

    def __init__(self, ctx: WorkflowContext, state: ScheduleState) -> None:
        self._ctx, self._state = ctx, state

    def install(self) -> None:
        on = self._ctx.on_update
        on(SET, self._set)
        on(PAUSE, self._pause)
        on(UNPAUSE, self._unpause)
        on(TRIGGER, self._trigger)
        on(DELETE, self._delete)

    def _now(self) -> int:
        return ns_of(self._ctx.now())

    def _set(self, payload: dict[str, Any]) -> str:
        new = ScheduleSpec.of(payload)
        if new == self._state.spec:
            return "unchanged"
        self._state.spec = new
        self._state.cursor = self._now()  # the new rule fires from now on
        return self._woken("updated")

    def _pause(self, _: Any = None) -> str:
        self._state.paused = True
        return self._woken("paused")

    def _unpause(self, _: Any = None) -> str:
        if self._state.paused:
            self._state.paused = False
            self._state.cursor = self._now()  # the times passed while paused are not fired
        return self._woken("unpaused")

    async def _trigger(self, _: Any = None) -> str:
        """Start a run now, whatever the overlap rule (the loop does not track it)."""
        at = self._now()
        await _start(self._ctx, self._state, at)
        return self._woken(self._state.spec.firing_id(at))

    def _delete(self, _: Any = None) -> str:
        self._state.deleted = True
        return self._woken("deleted")

    def _woken(self, answer: str) -> str:
        self._state.changed = True
        self._state.updates += 1
        return answer


DEFINITIONS: tuple[WorkflowDefinition, ...] = (run_schedule,)
