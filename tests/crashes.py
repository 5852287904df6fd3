"""Killing an engine the way `kill -9` does: its whole process group, workers included."""

from __future__ import annotations

import os
import signal
import subprocess
import time


def kill_engine(child: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGKILL the engine's process group and wait until every member has gone.

    The engine was started with `start_new_session=True`, so its group holds
    its forkserver and worker processes too; the data directory's lock is
    only free once the last of them is dead.
    """
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(child.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"processes of group {child.pid} outlived SIGKILL for {timeout} s")
