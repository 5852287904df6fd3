"""Activities that hand their completion off (`CompleteLater`), and the workflow awaiting
them. Each activity notes every run of its body in `<path>.ran` and leaves its token in
`<path>`; it exists on both executors (`hands_off_thread`, `hands_off_process`)."""

from __future__ import annotations

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


def hands_off(path: str) -> None:
    attempt = current_attempt()
    with Path(path + ".ran").open("a") as ran:
        ran.write(f"{attempt.attempt}\n")
    staged = Path(path + ".tmp")
    staged.write_text(attempt.token)
    staged.replace(path)  # whoever reads the token reads all of it
    raise CompleteLater()


_POLICY = RetryPolicy(max_attempts=2, initial=0.01)
ACTIVITIES: dict[str, ActivityDefinition[Any, Any]] = {
    executor: activity(name=f"hands_off_{executor}", retry=_POLICY, executor=executor)(hands_off)
    for executor in ("thread", "process")
}


@workflow
async def awaits_handoff(
    ctx: WorkflowContext, path: str, executor: str, timeout: float | None = None
) -> Any:
    try:
        return await ctx.activity(f"hands_off_{executor}", path, timeout=timeout)
    except ActivityError as exc:
        return {"failed": exc.error["type"]}


ALL = [awaits_handoff, *ACTIVITIES.values()]
