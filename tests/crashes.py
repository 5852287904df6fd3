"""Killing an engine the way `kill -9` does: its whole process group, workers included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class Child(Protocol):
    """A started engine: a `subprocess.Popen` or a `tests.forker.Forked`."""

    @property
    def pid(self) -> int: ...

    def wait(self) -> int: ...


def kill_engine(child: Child, timeout: float = 30.0) -> None:
    """SIGKILL the engine's process group and wait until every member has died.

    The engine was started with `start_new_session=True`, so its group holds
    its forkserver and worker processes too; the data directory's lock is
    only free once the last of them is dead. Dead, not reaped: a zombie holds
    no file, lock or socket any more, and the group's orphans are reaped by
    whatever runs as pid 1, which may take its time (here: up to 2 s a kill).
    """
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _living_members(child.pid):
            return
        time.sleep(0.01)
    raise AssertionError(f"processes of group {child.pid} outlived SIGKILL for {timeout} s")


def process_states() -> Iterator[tuple[int, list[str]]]:
    """Each live process's pid and the fields of its `/proc/PID/stat` after the command
    name (state, ppid, pgrp, ...); one that ends meanwhile is skipped."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    yield int(entry), stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile


def _living_members(group: int) -> list[int]:
    """The processes of process group `group` that are not (yet) zombies."""
    return [
        pid
        for pid, fields in process_states()
        if int(fields[2]) == group and fields[0] not in ("Z", "X")
    ]


def kill_at_ready(module: str, *args: object) -> None:
    """Run `python -m module args...` as an engine in its own session, and SIGKILL it
    (`kill_engine`) as soon as it prints READY."""
    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=root,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"READY"
    kill_engine(child)
