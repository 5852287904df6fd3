"""A full disk is not a workflow crash (issue 16, item 1): callers get `StoreFull`, runs
wait without spending restart budget, and all carry on by themselves once space is back.

On a small tmpfs mounted for the test (root only; skipped with the reason elsewhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors import Engine, StoreFull, WorkflowContext, activity, workflow
from tests.workers.helpers import wait_until

DISK_BYTES = 24 * 1024 * 1024


@activity(executor="thread")
def step(value: int) -> int:
    time.sleep(0.05)
    return value + 1


@workflow
async def stepper(ctx: WorkflowContext, value: int) -> int:
    for _ in range(6):
        value = await ctx.activity(step, value)
    approval = await ctx.wait_signal("go")
    return value + approval


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill ({done.stderr.strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Take every free byte of `disk` but a few pages."""
    filler = disk / "filler"
    with open(filler, "wb") as out:
        chunk = b"\0" * (1 << 20)
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError:
            pass
    return filler


def _first_refusal(engine: Engine) -> StoreFull:
    """Start runs until the store refuses one (pages freed earlier are reused first)."""
    for i in range(2000):
        try:
            engine.start(stepper, 0, workflow_id=f"late-{i}")
        except StoreFull as full:
            return full
    raise AssertionError("the store took 2,000 starts on a full disk")


def test_a_full_disk_stalls_runs_which_all_complete_once_space_is_back(disk: Path) -> None:
    with Engine.open(disk / "data", workers=1) as engine:
        engine.register(stepper, step)
        handles = [engine.start(stepper, i * 100, workflow_id=f"run-{i}") for i in range(8)]
        filler = _fill(disk)
        full = _first_refusal(engine)  # once the file must grow, nothing more fits
        assert str(disk / "data") in str(full) and "free space" in str(full)
        wait_until(
            lambda: all(
                "waiting for the store" in (engine.describe(h.workflow_id).waiting_for or "")
                for h in handles
            ),
            20,
            "every run to wait for the store",
        )
        with pytest.raises(StoreFull):
            engine.signal("run-0", "go", 1)
        os.remove(filler)  # space is back: the engine notices by itself
        for handle in handles:
            wait_until(
                lambda h=handle: (
                    engine.describe(h.workflow_id).waiting_for is None
                    and len(engine.history(h.workflow_id)) >= 13
                ),  # its six steps recorded
                30,
                f"{handle.workflow_id} to go on",
            )
            engine.signal(handle.workflow_id, "go", 1)
        results = [h.result(timeout=30) for h in handles]  # the late ones wait for "go"
        assert results == [i * 100 + 7 for i in range(8)]
        for handle in handles:
            described = engine.describe(handle.workflow_id)
            kinds = {e.kind for e in engine.history(handle.workflow_id)}
            assert described.restarts == 0 and "RunCrashed" not in kinds, kinds
        assert engine.stats()["crashes"] == 0


def test_a_map_that_cannot_grow_is_store_full_and_the_store_stays_usable(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.store.map_limit_child", str(tmp_path / "data")],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "its map is full at" in done.stdout and "cannot grow" in done.stdout
