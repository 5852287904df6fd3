"""Every test here must leave no thread, worker process or child process behind."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from multiprocessing import forkserver, resource_tracker

import pytest

from aion_actors.workers import ThreadExecutor, WorkerPool
from tests.workers import activities
from tests.workers.helpers import WAIT, children, wait_until


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Compare threads and child processes before and after each test.

    The forkserver and the resource tracker are per-interpreter singletons
    that multiprocessing starts once and keeps; they are children of this
    process from the first pool on, so they are part of the baseline.
    """
    threads_before = set(threading.enumerate())
    children_before = children()
    yield
    wait_until(
        lambda: set(threading.enumerate()) <= threads_before,
        WAIT,
        "threads started by the test to end",
    )
    assert multiprocessing.active_children() == []
    singletons = _singletons()
    wait_until(lambda: children() <= children_before | singletons, WAIT, "child processes")
    # Forkserver workers are the forkserver's children, not ours.
    wait_until(
        lambda: not any(children(server) for server in singletons),
        WAIT,
        "processes started by the forkserver",
    )


def _singletons() -> set[int]:
    pids = {
        # multiprocessing keeps these singletons private; tests need their pids
        getattr(forkserver._forkserver, "_forkserver_pid", None),  # noqa: SLF001
        getattr(resource_tracker._resource_tracker, "_pid", None),  # noqa: SLF001
    }
    return {pid for pid in pids if pid is not None}


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    pool = WorkerPool(2, activities.PATHS)
    yield pool
    pool.close()


@pytest.fixture
def threads() -> Iterator[ThreadExecutor]:
    executor = ThreadExecutor(4, activities.FUNCTIONS)
    yield executor
    executor.close()
