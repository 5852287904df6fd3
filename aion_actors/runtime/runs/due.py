"""Where a due durable timer goes: a run's timeout ends the run, any other timer wakes it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aion_actors.core import RunKey, TimerId, faults
from aion_actors.runtime import messages as msg
from aion_actors.runtime.timeouts import is_timeout, timed_out
from aion_actors.store import DueTimer

log = logging.getLogger("aion_actors.runtime")


def route(
    timer: DueTimer,
    send: Callable[[RunKey, msg.RequestMessage], None],
    deliver: Callable[[RunKey, Any], None],
) -> None:
    """`send` the run its timeout (it ends as a terminate ends it, its code not run), or
    `deliver` it `TimerDue`; a timer this engine cannot read is logged and ignored."""
    if faults.ARMED:
        faults.hit("timer.firing")
    try:
        timer_id = TimerId.parse(timer.timer_id)
    except ValueError:  # not a timer this engine set: say so, never crash the service
        log.error("run %s has a timer this engine cannot read; ignored", timer.run_id)
        return
    key = RunKey(timer.workflow_id, timer.run_id)
    if is_timeout(timer_id):
        send(key, timed_out(timer_id, timer.fire_at))
    else:
        deliver(key, msg.TimerDue(timer_id, timer.fire_at))
