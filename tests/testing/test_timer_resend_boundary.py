"""A timer due exactly when the timer service's re-report window of an earlier one ends.

The service keeps each reported timer for `_RESEND_NS` (2 s) and wakes at the
end of that window; on the virtual clock time stands still meanwhile, so the
window must count as over at its end, or the service ticks forever at that
instant and the clock never moves on.
"""

from __future__ import annotations

import pytest

from aion_actors import WorkflowContext, workflow
from aion_actors.testing import TestEngine


@workflow
async def naps(ctx: WorkflowContext, seconds: float) -> float:
    await ctx.sleep(seconds)
    return seconds


@pytest.mark.timeout(30)
def test_a_timer_due_as_the_resend_window_of_another_ends_fires_and_time_moves_on() -> None:
    with TestEngine() as engine:
        engine.register(naps)
        engine.start(naps, 10.0, workflow_id="first")
        later = engine.start(naps, 12.0, workflow_id="two-seconds-later")
        engine.clock.advance(13, timeout=10)
        assert later.result(timeout=10) == 12.0
        assert engine.result("first") == 10.0
