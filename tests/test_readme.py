"""The README's promises: its quick start is what CI runs, and every Python block runs.

Each ```python block is written to a file in a fresh directory and run as a
script (activities defined in a block must be importable by worker
processes, which a script file is). A ```toml block whose first line is
`# NAME.toml` is written next to it first, for the blocks that read it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
BLOCKS = [(lang, body) for lang, body in FENCE.findall(README)]
PYTHON = [body for lang, body in BLOCKS if lang == "python"]
FILES = {
    match.group(1): body
    for lang, body in BLOCKS
    if lang == "toml" and (match := re.match(r"# (\S+\.toml)\n", body))
}


def test_the_quick_start_comes_first_and_matches_ci() -> None:
    first = next(body for lang, body in BLOCKS if lang == "sh")
    demo, tests = first.strip().splitlines()
    assert demo == (
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/aion-actors demo"
    )
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert tests == ci


def test_the_readme_has_python_blocks() -> None:
    assert len(PYTHON) >= 3 and "aion.toml" in FILES


@pytest.mark.timeout(180)
@pytest.mark.parametrize("number", range(len(PYTHON)))
def test_python_block_runs(number: int, tmp_path: Path) -> None:
    for name, body in FILES.items():
        (tmp_path / name).write_text(body)
    script = tmp_path / f"readme_block_{number}.py"
    script.write_text(PYTHON[number])
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # as if installed (pip install -e .)
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, f"block {number} failed:\n{PYTHON[number]}\n{result.stderr}"
