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
    refused = _python(
        "-c", "from aion_actors import activity\n@activity\ndef f(): pass\n", cwd=tmp_path
    )

    assert refused.returncode != 0
    assert "ConfigError" in refused.stderr
    assert "is defined in the __main__ of an interactive session or `python -c`" in refused.stderr
    assert (
        'define it at module level in an importable module, or run it with executor="thread"'
        in (refused.stderr)
    )
    on_a_thread = "from aion_actors import activity\n@activity(executor='thread')\ndef f(): pass\n"
    assert _python("-c", on_a_thread, cwd=tmp_path).returncode == 0


def test_a_pool_given_an_activity_from_python_c_fails_its_attempts_naming_it(
    tmp_path: Path,
) -> None:
    code = (
        "from aion_actors.workers import AttemptInfo, Task, WorkerPool\n"
        "import threading\n"
        "def f(): pass\n"
        "pool = WorkerPool(1, {'f': '__main__:f'})\n"
        "box, done = [], threading.Event()\n"
        "task = Task('f', (), AttemptInfo('w', 'r', 'a', 1))\n"
        "pool.submit(task, lambda o: (box.append(o), done.set()))\n"
        "done.wait(30)\n"
        "pool.close()\n"
        "print(box[0].error['type'], box[0].error['message'])\n"
    )

    done = _python("-c", code, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ActivityUnavailable activity 'f' cannot run in a worker process")
    assert "`python -c`" in done.stdout
