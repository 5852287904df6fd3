"""Activities defined in a `__main__` script run in workers; interactive ones are refused."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    import threading

    from aion_actors.workers import AttemptInfo, Task, WorkerPool


    def double(x):
        return [x * 2, os.getpid()]


    if __name__ == "__main__":
        pool = WorkerPool(1, {"double": "__main__:double"}, start_method=sys.argv[1])
        box, done = [], threading.Event()
        pool.submit(
            Task("double", (21,), AttemptInfo("w", "r", "a", 1)),
            lambda outcome: (box.append(outcome), done.set()),
        )
        done.wait(30)
        pool.close()
        print(box[0].ok, box[0].result[0], box[0].result[1] != os.getpid())
    """
)


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_an_activity_defined_in_a_main_script_runs_in_a_worker(
    tmp_path: Path, start_method: str
) -> None:
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)

    done = _python(str(script), start_method, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "42", "True"]


def test_an_activity_from_python_c_is_refused_with_advice(tmp_path: Path) -> None:
    code = (
        "from aion_actors.workers import WorkerPool\n"
        "def f(): pass\n"
        "WorkerPool(1, {'f': '__main__:f'})\n"
    )

    done = _python("-c", code, cwd=tmp_path)

    assert done.returncode != 0
    assert "ConfigError" in done.stderr
    assert "move it into a module" in done.stderr
