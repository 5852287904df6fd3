"""Change requests (signal, cancel, terminate): told to a run, answered once committed.

A function of a `RunManager`, kept apart from it because its retry rules
are a protocol of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pykka

from aion_actors.core import EngineClosed
from aion_actors.runtime import messages as msg

if TYPE_CHECKING:
    from aion_actors.runtime.runs import RunManager


def send_request(
    runs: RunManager,
    workflow_id: str,
    run_id: str,
    build: Callable[[msg.Ack], object],
    timeout: float,
) -> None:
    """Deliver a change request and wait until its event is committed.

    A request whose actor died before submitting it was never recorded,
    so it is sent again to the next incarnation; once submitted, only the
    commit decides.
    """
    deadline = time.monotonic() + timeout
    while True:
        if runs._closed:
            raise EngineClosed()
        ack = msg.Ack()
        ref = runs.actor(workflow_id, run_id)
        if ref is not None:
            try:
                ref.tell(build(ack))
            except pykka.ActorDeadError:
                ref = None
        while ref is not None:
            try:
                ack.future.result(timeout=0.05)
                return
            except TimeoutError:
                if not ref.is_alive() and not ack.submitted:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"workflow {workflow_id!r} (run {run_id}) did not record the request "
                        f"within {timeout} s; it may still be recorded later"
                    ) from None
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"workflow {workflow_id!r} (run {run_id}) could not be reached within "
                f"{timeout} s (it may be restarting)"
            )
        time.sleep(0.01)
