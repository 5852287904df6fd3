from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from supervisor import Supervisor
from tests.supervisor.helpers import wait_until


@pytest.fixture(scope="session", autouse=True)
def _forkserver() -> None:
    """Start the (shared, long-lived) forkserver before any test takes a baseline."""
    multiprocessing.get_context("forkserver")
    multiprocessing.forkserver.ensure_running()


@pytest.fixture
def start_sup() -> Iterator[Callable[..., Supervisor]]:
    """``Supervisor.start``, with every supervisor stopped at the end of the test."""
    started: list[Supervisor] = []

    def start(*args: Any, **kwargs: Any) -> Supervisor:
        sup = Supervisor.start(*args, **kwargs)
        started.append(sup)
        return sup

    baseline = threading.active_count()
    yield start
    for sup in reversed(started):
        sup.stop()
    wait_until(lambda: threading.active_count() <= baseline, "test threads to end")
