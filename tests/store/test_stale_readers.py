"""A process killed inside a read transaction must not make the data file grow without bound.

LMDB keeps every page a live read transaction can see; a reader killed
mid-read leaves its slot in `lock.mdb`, so the writer keeps writing new pages
until that slot is cleared. The store clears such slots itself (at open, when
the map grows, and every `StaleReaders.EVERY_COMMITS` commits or
`EVERY_SECONDS` of commits), so a dead reader costs at most one cadence of
growth. Real processes, real files, SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aion_actors.core import events as ev
from aion_actors.store import LmdbStore
from tests.store.conftest import WAIT

ROOT = Path(__file__).resolve().parents[2]
SIGNALS = 3000
MIB = 1 << 20


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.lmdb_child", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _kill_mid_read(data: Path) -> None:
    """A read-only store in another process, SIGKILLed inside a read transaction."""
    reader = _child("mid-read", str(data))
    assert reader.stdout is not None and reader.stdout.readline() == "reading\n"
    reader.send_signal(signal.SIGKILL)
    assert reader.wait(WAIT) == -signal.SIGKILL


@pytest.fixture
def inspector(tmp_path: Path) -> Iterator[Path]:
    """A live read-only inspector holding `lock.mdb` open, as an operator's would."""
    data = tmp_path / "inspected"
    LmdbStore(data).close()
    proc = _child("inspector", str(data))
    assert proc.stdout is not None and proc.stdout.readline() == "open\n"
    yield data
    proc.kill()
    proc.communicate(timeout=WAIT)


def _append_signals(data: Path, *, killed_reader: bool) -> tuple[int, LmdbStore]:
    """3,000 commits of one signal each; the data file's size, and the (closed) store."""
    with LmdbStore(data, durability="nosync") as store:
        head = store.append("w", "r", [ev.SignalReceived(name="s")], 0)
        if killed_reader:
            _kill_mid_read(data)
        for _ in range(SIGNALS):
            head = store.append("w", "r", [ev.SignalReceived(name="s", payload="x" * 100)], head)
        assert head == SIGNALS + 1
    return (data / "data.mdb").stat().st_size, store


def test_a_reader_killed_mid_read_costs_at_most_one_cadence_of_growth(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clean_size, clean = _append_signals(tmp_path / "clean", killed_reader=False)
    with caplog.at_level(logging.WARNING, logger="aion_actors.store"):
        size, stale = _append_signals(tmp_path / "stale", killed_reader=True)
    # Before the fix the file grew to ~70 MiB here (one commit's new pages per
    # signal) against ~0.7 MiB without the dead reader.
    assert size <= clean_size + 2 * MIB, (
        f"data file {size / MIB:.1f} MiB with a dead reader, {clean_size / MIB:.1f} MiB without"
    )
    assert (clean.stale_readers_cleared, stale.stale_readers_cleared) == (0, 1)
    assert any("cleared 1 reader slot" in r.getMessage() for r in caplog.records)


def test_a_reader_killed_before_the_engine_opens_is_cleared_at_open(inspector: Path) -> None:
    # With another process holding the environment open, LMDB does not reset the
    # reader table when the owner opens it: the owner must clear the slot itself.
    _kill_mid_read(inspector)
    with LmdbStore(inspector, durability="nosync") as store:
        assert store.stale_readers_cleared == 1
