"""An attempt cut short by kill -9 runs once more after reopening: not twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from aion_actors import Engine
from tests.crashes import kill_at_ready
from tests.runtime import flows

RUNS = 40
ON_POSTGRES = True  # (`data_dir` is then a fresh Postgres database's URL)


@pytest.mark.timeout(120)
def test_each_interrupted_attempt_runs_exactly_once_after_reopening(
    tmp_path: Path, data_dir: Path | str
) -> None:
    data, ledger = data_dir, tmp_path / "ledger"
    kill_at_ready("tests.runtime.gated_child", data, ledger, RUNS)
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
