"""Which worker takes each queued attempt (`_pacing.assign`), and the pipe's framing."""

from __future__ import annotations

import os
import socket
import threading
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

import pytest

from aion_actors.workers import Task, _pacing
from aion_actors.workers._frames import FrameReader, frames, write_all
from aion_actors.workers._process import Job
from tests.workers.helpers import attempt

pytestmark = pytest.mark.timeout(30)


class _Worker:
    """What `assign` reads of a `WorkerProcess`, and what it was sent."""

    def __init__(self, held: list[Job] | None = None, began: float = 0.0) -> None:
        self.jobs: deque[Job] = deque(held or [])
        self.queued_bytes = sum(len(j.message or b"") for j in list(self.jobs)[1:])
        self.began = began
        self.writes: list[list[str]] = []

    @property
    def job(self) -> Job | None:
        return self.jobs[0] if self.jobs else None

    def run(self, jobs: list[Job], now: float) -> None:
        self.writes.append([j.task.attempt.activity_id for j in jobs])
        self.jobs.extend(jobs)


def _job(name: str, key: str, size: int = 10) -> Job:
    return Job(Task(name, (), attempt(key)), lambda _: None, b"x" * size)


def _pace(**averages: float) -> _pacing.Pace:
    pace = _pacing.Pace()
    for name, seconds in averages.items():
        pace.ran(name, seconds)
    return pace


def _assign(pending: list[Job], workers: list[Any], pace: _pacing.Pace, now: float = 0.0) -> None:
    queue = deque(pending)
    assert _pacing.assign(queue, workers, pace, now) == []
    pending[:] = list(queue)


def test_idle_workers_take_attempts_first_and_each_worker_gets_its_share_in_one_write() -> None:
    workers = [_Worker(), _Worker()]
    pending = [_job("quick", f"a{i}") for i in range(4)]

    _assign(pending, workers, _pace(quick=0.001))

    assert pending == []
    assert [w.writes for w in workers] == [[["a0", "a2"]], [["a1", "a3"]]]


@pytest.mark.parametrize(
    ("averages", "head_ran", "why"),
    [
        ({}, 0.0, "an activity never timed"),
        ({"quick": 0.5}, 0.0, "an activity that usually takes long"),
        ({"quick": 0.001}, 1.0, "behind an attempt already running long"),
    ],
)
def test_an_attempt_is_not_queued_behind_a_busy_worker_unless_the_wait_is_short(
    averages: dict[str, float], head_ran: float, why: str
) -> None:
    busy = _Worker([_job("quick", "running")], began=0.0)
    pending = [_job("quick", "next")]

    _assign(pending, [busy], _pace(**averages), now=head_ran)

    assert busy.writes == [], why
    assert [j.task.attempt.activity_id for j in pending] == ["next"]


def test_a_worker_holds_at_most_depth_attempts_and_queued_bytes() -> None:
    pace = _pace(quick=0.001)
    deep = _Worker()
    pending = [_job("quick", f"a{i}") for i in range(_pacing.DEPTH + 3)]
    _assign(pending, [deep], pace)
    assert len(deep.jobs) == _pacing.DEPTH and len(pending) == 3

    heavy = _Worker([_job("quick", "running")])
    big = _pacing.QUEUED_BYTES // 2 + 1
    pending = [_job("quick", "b0", big), _job("quick", "b1", big)]
    _assign(pending, [heavy], pace)
    assert heavy.writes == [["b0"]] and len(pending) == 1


def test_a_slow_attempt_never_has_a_quick_one_queued_behind_it_while_a_worker_is_free() -> None:
    slow, free = _Worker([_job("slow", "long")], began=0.0), _Worker()
    pending = [_job("quick", f"q{i}") for i in range(3)]

    _assign(pending, [slow, free], _pace(quick=0.001, slow=5.0), now=0.001)

    assert slow.writes == []
    assert free.writes == [["q0", "q1", "q2"]]


def test_frames_split_however_the_reads_cut_them_and_match_a_connection() -> None:
    left, right = socket.socketpair()
    reader = FrameReader(right.fileno())
    sent = [b"", b"a", b"b" * 70_000, b"c" * 3]
    data = frames(sent)

    def write() -> None:  # in pieces of 7 bytes
        for at in range(0, len(data), 7):
            left.sendall(data[at : at + 7])

    writer = threading.Thread(target=write)
    writer.start()
    got: list[bytes] = []
    while len(got) < len(sent):
        got += reader.read()
    writer.join()
    assert got == sent

    conn = Connection(os.dup(left.fileno()))
    conn.send_bytes(b"from a connection")
    assert reader.read() == [b"from a connection"]
    write_all(right.fileno(), frames([b"to a connection"]))
    assert conn.recv_bytes() == b"to a connection"

    conn.close()
    left.close()
    assert reader.drain() == [] and reader.ended
    with pytest.raises(EOFError):
        reader.read()
    right.close()
