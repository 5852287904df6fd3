"""Each worker leads a process group of its own; a terminal's signals do not stop it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.workers.helpers import WAIT

REPO = Path(__file__).resolve().parents[2]


# A fresh interpreter opens the terminal: pytest has threads, and pty.fork() forks.
TERMINAL_DRIVER = """
import os, pty, sys

pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-c", sys.argv[1]])
seen = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:  # EIO: the terminal's other side closed
        break
    if not chunk:
        break
    seen += chunk
os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
"""

ON_THE_TERMINAL = """
import termios
import threading

from aion_actors.workers import AttemptInfo, Task, WorkerPool

attrs = termios.tcgetattr(0)
attrs[3] |= termios.TOSTOP  # stty tostop: a background group writing here is stopped
termios.tcsetattr(0, termios.TCSANOW, attrs)
pool = WorkerPool(1, {"to_terminal": "tests.workers.activities:to_terminal"})
box, done = [], threading.Event()
task = Task("to_terminal", ("hello from a worker",), AttemptInfo("w", "r", "a", 1), 10.0)
pool.submit(task, lambda outcome: (box.append(outcome), done.set()))
done.wait(60)
pool.close()
print("outcome:", box[0].ok, box[0].result or box[0].error)
"""


def test_a_worker_in_its_own_group_still_writes_to_the_terminal_and_never_stops(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", TERMINAL_DRIVER, ON_THE_TERMINAL],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=WAIT + 30,
    )

    assert done.returncode == 0, done.stderr
    assert "hello from a worker" in done.stdout
    # A read from the terminal fails at once rather than stopping the worker (SIGTTIN).
    assert "outcome: True reading the terminal: [Errno 5] Input/output error" in done.stdout
