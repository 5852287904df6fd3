"""Activities that hand their completion off (`CompleteLater`), and the workflow awaiting
them. Each activity notes every run of its body in `<path>.ran` and leaves its token in
`<path>`; it exists on both executors (`hands_off_thread`, `hands_off_process`).
`engine.register(*ALL, timeout=, retry=)` gives the activities an attempt timeout."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aion_actors import (
    ActivityError,
    CompleteLater,
    RetryPolicy,
    WorkflowContext,
    activity,
    current_attempt,
    workflow,
)
from aion_actors.runtime import ActivityDefinition


def hands_off(path: str, pause: float = 0.0) -> None:
    """Hands off after `pause` seconds of the attempt's clock."""
    attempt = current_attempt()
    with Path(path + ".ran").open("a") as ran:
        ran.write(f"{attempt.attempt}\n")
    staged = Path(path + ".tmp")
    staged.write_text(attempt.token)
    staged.replace(path)  # whoever reads the token reads all of it
    time.sleep(pause)
    raise CompleteLater()


_POLICY = RetryPolicy(max_attempts=2, initial=0.01)
ACTIVITIES: dict[str, ActivityDefinition[Any, Any]] = {
    executor: activity(name=f"hands_off_{executor}", retry=_POLICY, executor=executor)(hands_off)
    for executor in ("thread", "process")
}


@workflow
async def awaits_handoff(
    ctx: WorkflowContext,
    path: str,
    executor: str,
    timeout: float | None = None,
    pause: float = 0.0,
    linger: bool = False,
) -> Any:
    """The activity's result, or the type of its error; with `linger`, only once signalled
    "done" (the run stays open after the activity, its timers with it)."""
    try:
        result = await ctx.activity(f"hands_off_{executor}", path, pause, timeout=timeout)
    except ActivityError as exc:
        result = {"failed": exc.error["type"]}
    if linger:
        await ctx.wait_signal("done")
    return result


ALL = [awaits_handoff, *ACTIVITIES.values()]
