"""What the demo tells a user who ran it without activating the virtual environment."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = shutil.which("aion-actors", path=str(Path(sys.executable).parent))


def run_demo(command: list[str], tmp_path: Path) -> tuple[list[list[str]], dict[str, str]]:
    """Run a 3-order demo with the venv not on PATH; the inspect commands it suggests."""
    data = tmp_path / "demo data"  # a space, to be quoted
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [*command, "demo", "--runs", "3", "--no-faults", "--data", str(data)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("inspect it: "))
    suggested = [lines[first].removeprefix("inspect it: "), lines[first + 1]]
    return [shlex.split(line) for line in suggested], env


def check_suggestions_work(suggested: list[list[str]], env: dict[str, str], cwd: Path) -> None:
    for argv in suggested:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (argv, done.stderr)
        assert "order-00002" in done.stdout


@pytest.mark.timeout(240)
@pytest.mark.skipif(SCRIPT is None, reason="the aion-actors script is not installed next to python")
def test_demo_suggests_inspect_commands_that_run_without_the_venv_on_path(tmp_path: Path) -> None:
    assert SCRIPT is not None
    suggested, env = run_demo([SCRIPT], tmp_path)
    assert [argv[:2] for argv in suggested] == [[SCRIPT, "runs"], [SCRIPT, "history"]]
    check_suggestions_work(suggested, env, tmp_path)


@pytest.mark.timeout(240)
def test_demo_run_with_python_dash_m_suggests_python_dash_m(tmp_path: Path) -> None:
    suggested, env = run_demo([sys.executable, "-m", "aion_actors"], tmp_path)
    assert suggested[0][:4] == [sys.executable, "-m", "aion_actors", "runs"]
    check_suggestions_work(suggested, env, tmp_path)
