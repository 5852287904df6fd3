"""A full disk is not a workflow crash (issue 16, item 1): callers get `StoreFull`, runs
wait without spending restart budget, and all carry on by themselves once space is back.

On a small tmpfs mounted for the test (root only; skipped with the reason elsewhere).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from aion_actors import Engine, StoreFull, WorkflowContext, activity, workflow
from aion_actors.aio import AsyncEngine
from aion_actors.core import AionError, Event
from aion_actors.core import events as ev
from aion_actors.store import AppendRequest, LmdbStore
from tests.runtime.watched_store import Watched
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


@workflow
async def awaiting(ctx: WorkflowContext, tag: int) -> object:
    return await ctx.wait_signal("go")


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


class _Held(Watched):
    """The real store; while `gate` is set, an append waits for it to open first."""

    gate: threading.Event | None = None

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[list[Event] | AionError]:
        if self.gate is not None:
            self.gate.wait(30)
        return super().append_batch(requests)


def _signal_giving_up(engine: Engine, face: str) -> None:
    """Signal run "w", giving up after 0.5 s, through `Engine` or `AsyncEngine`."""
    if face == "Engine":
        engine.signal("w", "go", "kept", timeout=0.5)
    else:  # (its own threads start only for calls it cannot make without waiting)
        asyncio.run(AsyncEngine(engine).signal("w", "go", "kept", timeout=0.5))


@pytest.mark.parametrize("face", ["Engine", "AsyncEngine"])
def test_a_signal_whose_caller_gave_up_before_the_disk_refused_it_is_recorded_once_space_is_back(
    disk: Path, face: str
) -> None:
    """The caller's timeout passes before the append of its signal reaches the full disk
    (held back by the test until then): it was told "it is not lost", so the signal waits
    with its run, and is recorded once space is back (before: dropped when the run stalled)."""
    store = _Held(LmdbStore(disk / "data"))
    with Engine(store, workers=1, idle_evict_after=None) as engine:  # type: ignore[arg-type]
        engine.register(awaiting)
        engine.start(awaiting, 0, workflow_id="w")
        filler = _fill(disk)
        with pytest.raises(StoreFull):  # (pages freed earlier are reused first)
            for i in range(2000):
                engine.start(awaiting, i, workflow_id=f"late-{i}")
        store.gate = gate = threading.Event()
        with pytest.raises(TimeoutError, match="it is not lost"):
            _signal_giving_up(engine, face)
        store.gate = None
        gate.set()  # its append goes on, to the full disk
        wait_until(
            lambda: "waiting for the store" in (engine.describe("w").waiting_for or ""),
            20,
            "the run to wait for the store",
        )
        os.remove(filler)
        assert engine.result("w", timeout=30) == "kept"
        signals = [e for e in engine.history("w") if isinstance(e, ev.SignalReceived)]
        assert [e.payload for e in signals] == ["kept"]
