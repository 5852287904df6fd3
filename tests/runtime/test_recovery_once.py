"""An attempt cut short by kill -9 runs once more after reopening: not twice."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from aion_actors import Engine
from tests.crashes import kill_engine
from tests.runtime import flows

ROOT = Path(__file__).resolve().parents[2]
RUNS = 40
ON_POSTGRES = True  # (`data_dir` is then a fresh Postgres database's URL)


@pytest.mark.timeout(120)
def test_each_interrupted_attempt_runs_exactly_once_after_reopening(
    tmp_path: Path, data_dir: Path | str
) -> None:
    data, ledger = data_dir, tmp_path / "ledger"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.gated_child", str(data), str(ledger), str(RUNS)],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"READY"
    kill_engine(child)
    assert not ledger.exists(), "an activity passed the closed gate"

    Path(str(ledger) + ".gate").touch()
    with Engine.open(data, workers=1) as engine:
        engine.register(flows.gated_pair, flows.gated_step)
        results = [engine.result(f"gated-{i}", timeout=60) for i in range(RUNS)]
    assert results == [i + 2 for i in range(RUNS)]

    runs = Counter(tuple(line.split()[:2]) for line in ledger.read_text().splitlines())
    expected = {(f"gated-{i}", str(n)) for i in range(RUNS) for n in (1, 2)}
    assert set(runs) == expected
    twice = sorted(key for key, count in runs.items() if count > 1)
    assert not twice, f"{len(twice)} activities ran twice after the reopen: {twice[:5]}"
