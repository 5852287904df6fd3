"""Waiting on another process without polling: OS file locks the other side releases.

The kernel wakes a blocked `flock` the moment its holder lets go or dies, so a
waiter needs neither a timer nor a loop.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from aion_actors.store._lmdb_env import LOCK_FILE


def hold(path: Path) -> int:
    """Close the gate at `path` (an exclusive lock); `release` opens it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def release(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def wait_open(path: str) -> None:
    """Block until the gate at `path` is open (nobody holds it shut)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    finally:
        os.close(fd)  # closing drops the shared lock


def wait_engine_gone(data_dir: Path) -> None:
    """Block until no process holds the data directory's owner lock (a killed engine
    and every process that inherited its lock have gone)."""
    wait_open(str(data_dir / LOCK_FILE))
