"""Crash-test children forked from one warm interpreter instead of started afresh.

A test that kills an engine many times spent most of each incarnation
starting Python and importing the engine (0.5-1 s a child, more on a loaded
machine) before the child could do anything worth killing. A `Forker` is a
process that imports the child's module once and then forks a child per
`start()`: each runs `python -m MODULE ARGS...` as it would (`__main__` is
that module, so its worker processes import it as `__mp_main__`), in a
session of its own as `start_new_session=True` gives, but starts in
milliseconds. The forker never opens an engine or a store and runs one
thread, so a child inherits no lock, handle or thread.

    with Forker("tests.runtime.engine_child") as forker:
        child = forker.start("tests.runtime.engine_child", data, ledger, 8)
        assert child.stdout.readline().strip() == b"READY"
        kill_engine(child)           # child.returncode == -signal.SIGKILL

A child writes on the forker's stdout, which the test reads (one child runs
at a time); the forker reports each child's end on it as `EXIT pid code`.
Its stderr is the test's (pytest shows it when the test fails).
"""

from __future__ import annotations

import json
import os
import random
import runpy
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import IO, Any

from aion_actors.core.closing import CloseOnExit

ROOT = Path(__file__).resolve().parents[1]
_EXIT = b"EXIT "


class Forked:
    """One forked child: `pid`, `stdout` (its lines), `wait()`, `kill()`, `returncode`."""

    def __init__(self, pid: int, stdout: IO[bytes]) -> None:
        self.pid = pid
        self.stdout = stdout
        self.returncode: int | None = None

    def wait(self) -> int:
        """Wait for the child's end (skipping what it printed); its code, -N if killed by N."""
        while self.returncode is None:
            line = self.stdout.readline()
            if not line:
                raise AssertionError(f"the forker died before child {self.pid} ended")
            if line.startswith(_EXIT) and int(line.split()[1]) == self.pid:
                self.returncode = int(line.split()[2])
        return self.returncode

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)


class Forker(CloseOnExit):
    """The forking process, with `modules` imported; `close()` (or the `with`) ends it."""

    def __init__(self, *modules: str) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.forker", *modules],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # stderr: the test's, which pytest captures
        )
        self._child: Forked | None = None

    def start(
        self,
        module: str,
        *args: object,
        env: dict[str, str] | None = None,
        stderr: Path | None = None,
    ) -> Forked:
        """Fork a child running `python -m module args...`, with `env` added to its
        environment and its stderr written to the file `stderr` if given (else the
        test's); the previous child must have ended."""
        assert self._child is None or self._child.returncode is not None, "one child at a time"
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        request = {"module": module, "args": [str(a) for a in args], "env": env or {}}
        request["stderr"] = None if stderr is None else str(stderr)
        stdin.write(json.dumps(request).encode() + b"\n")
        stdin.flush()
        line = stdout.readline()
        if not line.startswith(b"FORKED "):
            raise AssertionError(f"the forker did not fork: {line!r}")
        self._child = Forked(int(line.split()[1]), stdout)
        return self._child

    def close(self) -> None:
        if self._child is not None and self._child.returncode is None:
            self._child.kill()
            self._child.wait()
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)
        assert self._process.stdout is not None
        self._process.stdout.close()


def _serve(modules: list[str]) -> None:
    for module in modules:
        __import__(module)
    out = sys.stdout.buffer
    for request in sys.stdin.buffer:
        assert threading.active_count() == 1, "forking a threaded process"
        go_read, go_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_write)
            os.read(go_read, 1)  # until the parent has said FORKED: READY comes after it
            os.close(go_read)
            _child(json.loads(request))
        os.close(go_read)
        out.write(b"FORKED %d\n" % pid)
        out.flush()
        os.close(go_write)
        _, status = os.waitpid(pid, 0)
        out.write(b"EXIT %d %d\n" % (pid, os.waitstatus_to_exitcode(status)))
        out.flush()


def _child(request: dict[str, Any]) -> None:
    code = 0
    module = request["module"]
    try:
        os.setsid()
        if request["stderr"] is not None:
            os.dup2(os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
        os.environ.update(request["env"])
        if "aion_actors.core.faults" in sys.modules:  # it read AION_FAULTS at import
            sys.modules["aion_actors.core.faults"].arm(os.environ.get("AION_FAULTS", ""))
        random.seed()  # not the forker's state, the same in every child
        sys.argv = [module, *request["args"]]
        sys.modules.pop(module, None)  # run afresh as __main__; what it imports stays warm
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    _serve(sys.argv[1:])
