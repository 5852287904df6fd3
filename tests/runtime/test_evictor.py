"""The evictor's wait for the resident limit is woken by the run that leaves, not by a timer."""

from __future__ import annotations

import threading

import pytest

from aion_actors.runtime.evictor import Evictor


@pytest.mark.timeout(30)
def test_wait_within_limit_returns_once_a_run_leaves_and_not_before() -> None:
    evictor = Evictor(lambda key: None, max_resident=1, idle_after=None)
    try:
        evictor.started()
        evictor.started()
        assert evictor.wait_within_limit(timeout=0.05) is False
        waiter = threading.Thread(target=lambda: results.append(evictor.wait_within_limit(30)))
        results: list[bool] = []
        waiter.start()
        evictor.exited("a")
        waiter.join(timeout=30)
        assert results == [True]
    finally:
        evictor.close()
