"""A script that never closes its engine still exits, closing it on the way out."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging, sys
from aion_actors import Engine, WorkflowContext, activity, workflow

@activity
def double(x: int) -> int:
    return 2 * x

@workflow
async def doubles(ctx: WorkflowContext, x: int) -> int:
    return await ctx.activity(double, x)

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    engine = Engine.open(sys.argv[1], workers=1)
    engine.register(doubles, double)
    print(engine.start(doubles, 21, workflow_id="left-open").result(timeout=30), flush=True)
    engine.start(doubles, 1)  # in flight when the script ends
    if sys.argv[2] == "raise":
        raise RuntimeError("the script fails")
"""


@pytest.mark.parametrize("how", ["ends", "raise"])
def test_a_script_that_never_closes_its_engine_exits_and_warns(tmp_path: Path, how: str) -> None:
    script = tmp_path / "forgets.py"
    script.write_text(textwrap.dedent(SCRIPT))
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "data"), how],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "42"
    assert done.returncode == (1 if how == "raise" else 0), done.stderr[-2000:]
    assert "was never closed; closing it at interpreter exit" in done.stderr
    reopened = subprocess.run(  # closed cleanly: the directory opens again at once
        [
            sys.executable,
            "-c",
            f"from aion_actors import Engine; Engine.open({str(tmp_path / 'data')!r}).close()",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reopened.returncode == 0, reopened.stderr[-2000:]
