"""Workflows for the timer, signal, query, child, cancellation and continue-as-new tests."""

from __future__ import annotations

from typing import Any

from aion_actors import (
    ActivityTimeout,
    Cancelled,
    ConditionTimeout,
    RetryPolicy,
    SignalTimeout,
    WorkflowContext,
    WorkflowError,
    activity,
    workflow,
)


@activity(executor="thread")
def note(ledger: str, text: str) -> str:
    with open(ledger, "a") as f:
        f.write(text + "\n")
    return text


@workflow
async def sleeper(ctx: WorkflowContext, seconds: float) -> str:
    before = ctx.now()
    await ctx.sleep(seconds)
    return f"{(ctx.now() - before).total_seconds() >= seconds}"


@workflow
async def two_waits(ctx: WorkflowContext) -> list[Any]:
    first = await ctx.wait_signal("item")
    second = await ctx.wait_signal("item")
    return [first, second]


@workflow
async def waits_with_timeout(ctx: WorkflowContext, timeout: float) -> str:
    try:
        return str(await ctx.wait_signal("approve", timeout=timeout))
    except SignalTimeout:
        return "timed out"


@workflow
async def queryable(ctx: WorkflowContext) -> str:
    state = {"stage": "waiting"}
    ctx.on_query("stage", lambda: state["stage"])
    ctx.on_query("echo", lambda *args: list(args))
    ctx.on_query("sneaky", lambda: ctx.sleep(1))
    ctx.on_query("broken", lambda: state["no such key"])
    await ctx.wait_signal("go")
    state["stage"] = "done"
    await ctx.wait_signal("finish")
    return state["stage"]


@workflow
async def child_doubler(ctx: WorkflowContext, value: int) -> int:
    await ctx.sleep(0.05)
    return value * 2


@workflow
async def child_fails(ctx: WorkflowContext) -> None:
    raise WorkflowError("child refuses")


@workflow
async def parent(ctx: WorkflowContext, value: int) -> list[Any]:
    doubled = await ctx.child(child_doubler, value)
    try:
        await ctx.child(child_fails)
        failed = "no"
    except WorkflowError as exc:
        failed = type(exc).__name__
    return [doubled, failed]


@workflow
async def parent_of_sleeper(ctx: WorkflowContext) -> int:
    return int(await ctx.child(child_waits_for_signal, workflow_id="kid"))


@workflow
async def child_waits_for_signal(ctx: WorkflowContext) -> int:
    return int(await ctx.wait_signal("value"))


@workflow
async def compensates(ctx: WorkflowContext, ledger: str) -> str:
    try:
        await ctx.activity(note, ledger, "charged")
        await ctx.wait_signal("never")
        return "finished"
    except Cancelled:
        await ctx.activity(note, ledger, "refunded")
        raise


@workflow
async def adds_up(ctx: WorkflowContext, total: int, until: int) -> int:
    """Adds each "add" signal, one per run: a chain that continues as new until `until`;
    query "run" names the run that answers."""
    ctx.on_query("total", lambda: total)
    ctx.on_query("run", lambda: ctx.run_id)
    total += await ctx.wait_signal("add")
    if total >= until:
        return total
    ctx.continue_as_new(total, until)


@workflow
async def adds_up_by_update(ctx: WorkflowContext, total: int, until: int) -> int:
    """`adds_up` taking "add" updates (each answers the new total): the first update
    a run takes closes it, continuing as new until `until`."""
    added: list[int] = []

    def add(amount: int) -> int:
        added.append(amount)
        return total + sum(added)

    ctx.on_update("add", add)
    ctx.on_query("total", lambda: total + sum(added))
    ctx.on_query("run", lambda: ctx.run_id)
    await ctx.wait_condition(lambda: bool(added))
    total += sum(added)
    if total >= until:
        return total
    ctx.continue_as_new(total, until)


@workflow
async def takes_by_update(ctx: WorkflowContext, taken: list[str]) -> list[str]:
    """Takes "take" updates, one per run (each answers "took <item>"; "boom" raises): a
    chain that continues as new carrying what it took, until "stop"; query "taken"
    lists every handler run of the chain (recorded state: replays do not add to it)."""
    got: list[str] = []

    def take(item: str) -> str:
        got.append(item)
        if item == "boom":
            raise ValueError("boom refused")
        return f"took {item}"

    ctx.on_update("take", take)
    ctx.on_query("taken", lambda: [*taken, *got])
    await ctx.wait_condition(lambda: bool(got))
    if "stop" in got:
        return [*taken, *got]
    ctx.continue_as_new([*taken, *got])


@workflow
async def counts_down(ctx: WorkflowContext, n: int, seen: list[int]) -> list[int]:
    seen = [*seen, n]
    if n > 0:
        await ctx.sleep(0.01)
        ctx.continue_as_new(n - 1, seen)
    return seen


ALL = [
    adds_up,
    adds_up_by_update,
    takes_by_update,
    note,
    sleeper,
    two_waits,
    waits_with_timeout,
    queryable,
    child_doubler,
    child_fails,
    parent,
    parent_of_sleeper,
    child_waits_for_signal,
    compensates,
    counts_down,
]


@workflow
async def parent_of_two(ctx: WorkflowContext) -> list[Any]:
    return list(
        await ctx.gather(
            ctx.child(child_waits_for_signal, workflow_id="bound"),
            ctx.child(child_waits_for_signal, workflow_id="free", on_parent_close="abandon"),
        )
    )


ALL.append(parent_of_two)


@activity
def slow_note(ledger: str, text: str) -> str:
    import time

    with open(ledger, "a") as f:
        f.write(text + "\n")
    time.sleep(0.5)
    return text


@workflow
async def naps_then_notes(ctx: WorkflowContext, ledger: str) -> str:
    await ctx.sleep(1.0)
    return str(await ctx.activity(note, ledger, "after nap"))


@workflow
async def signal_then_notes(ctx: WorkflowContext, ledger: str) -> str:
    got = await ctx.wait_signal("go")
    return str(await ctx.activity(note, ledger, f"got {got}"))


@workflow
async def parent_then_notes(ctx: WorkflowContext, ledger: str) -> str:
    doubled = await ctx.child(child_doubler, 4, workflow_id="only-child")
    return str(await ctx.activity(note, ledger, f"child {doubled}"))


@workflow
async def slow_activity(ctx: WorkflowContext, ledger: str) -> str:
    return str(await ctx.activity(slow_note, ledger, "slow"))


@workflow
async def handler_then_notes(ctx: WorkflowContext, ledger: str) -> str:
    got: list[Any] = []
    ctx.on_signal("add", got.append)
    await ctx.wait_condition(lambda: len(got) >= 2)
    return str(await ctx.activity(note, ledger, f"added {got[0]}+{got[1]}"))


@workflow
async def condition_then_notes(ctx: WorkflowContext, ledger: str) -> str:
    try:
        await ctx.wait_condition(lambda: False, timeout=1.0)
        held = "held"
    except ConditionTimeout:
        held = "condition timed out"
    return str(await ctx.activity(note, ledger, held))


ALL += [slow_note, naps_then_notes, signal_then_notes, parent_then_notes, slow_activity]


@workflow
async def handle_child_then_notes(ctx: WorkflowContext, ledger: str) -> str:
    child = await ctx.start_child(child_doubler, 4, workflow_id="only-child")
    doubled = await child.result()
    return str(await ctx.activity(note, ledger, f"child {doubled}"))


ALL += [handler_then_notes, condition_then_notes, handle_child_then_notes]


@activity
def hangs(ledger: str, seconds: float) -> str:
    import time

    with open(ledger, "a") as f:
        f.write("hang started\n")
    time.sleep(seconds)
    with open(ledger, "a") as f:
        f.write("hang ended\n")
    return "finished in time"


@activity(executor="thread", retry=RetryPolicy(max_attempts=1000, initial=0.02, max_interval=0.02))
def keeps_failing(ledger: str) -> None:
    with open(ledger, "a") as f:
        f.write("attempt\n")
    raise RuntimeError("still broken")


@workflow
async def bounded(ctx: WorkflowContext, ledger: str, seconds: float, timeout: float) -> str:
    try:
        return str(await ctx.activity(hangs, ledger, seconds, timeout=timeout))
    except ActivityTimeout as exc:
        return f"timed out: {exc.error['type']}"


@workflow
async def bounded_retries(ctx: WorkflowContext, ledger: str, timeout: float) -> str:
    try:
        await ctx.activity(keeps_failing, ledger, timeout=timeout)
        return "succeeded"
    except ActivityTimeout:
        return "gave up"


@workflow
async def unbounded_failure(ctx: WorkflowContext, ledger: str) -> str:
    return str(await ctx.activity(hangs, ledger, 5.0, timeout=0.2))


@workflow
async def deadline_then_notes(ctx: WorkflowContext, ledger: str) -> str:
    try:
        await ctx.activity(hangs, ledger, 30.0, timeout=2.0)
        return "not expected"
    except ActivityTimeout:
        return str(await ctx.activity(note, ledger, "timed out"))


ALL += [hangs, keeps_failing, bounded, bounded_retries, unbounded_failure, deadline_then_notes]


@activity(executor="thread", retry=RetryPolicy(max_attempts=3, initial=0.001, max_interval=0.001))
def flaky_once(token: str, attempt_marks: list[str]) -> str:
    """Fails its first attempt (so the run waits on a retry timer), then succeeds."""
    from aion_actors import current_attempt

    if current_attempt().attempt == 1:
        raise RuntimeError("first attempt fails")
    return token


@workflow
async def churns(ctx: WorkflowContext, rounds: int) -> int:
    """Idles on tiny timers and retry waits, so a small engine evicts it between each."""
    done = 0
    for i in range(rounds):
        await ctx.sleep(0.001)
        done += len(await ctx.activity(flaky_once, str(i), []))
    return done


ALL += [flaky_once, churns]
