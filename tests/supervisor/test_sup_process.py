"""Process children: exit codes, signals, shutdown then SIGKILL (forkserver, few processes)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from supervisor import ChildSpec, ExitReason, ProcessRef, RestartPolicy, SupervisorError
from tests.supervisor.helpers import (
    Exits,
    current,
    exit_with,
    ignore_sigterm,
    restarted,
    sleep_forever,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)


def test_os_exit_is_an_abnormal_exit_and_the_child_gets_a_new_process(start_sup) -> None:
    exits = Exits()
    sup = start_sup(
        RestartPolicy(max_restarts=5),
        [
            ChildSpec("p", process=exit_with, args=(3, 0.3), restart="transient", on_exit=exits),
        ],
    )
    first = current(sup, "p")
    assert isinstance(first.ref, ProcessRef)
    second = restarted(sup, "p", first.pid)
    assert exits.reasons("p")[0] == ExitReason("exit", code=3)
    assert first.ref.exitcode == 3 and not first.ref.is_alive()
    assert second.ref.os_pid != first.ref.os_pid
    sup.terminate_child("p")


def test_sigkill_is_reported_as_a_signal_and_restarted(start_sup) -> None:
    exits = Exits()
    sup = start_sup(RestartPolicy(), [ChildSpec("p", process=sleep_forever, on_exit=exits)])
    first = current(sup, "p")
    os.kill(first.ref.os_pid, signal.SIGKILL)
    restarted(sup, "p", first.pid)
    assert exits.reasons("p") == [ExitReason("signal", signal=signal.SIGKILL)]
    assert str(exits.reasons("p")[0]) == "signal SIGKILL"


def test_exit_code_zero_is_normal_so_a_transient_process_stays_down(start_sup) -> None:
    exits = Exits()
    sup = start_sup(
        RestartPolicy(),
        [
            ChildSpec("p", process=exit_with, args=(0,), restart="transient", on_exit=exits),
        ],
    )
    wait_until(lambda: exits.reasons("p"), "the process to exit")
    assert exits.reasons("p") == [ExitReason.NORMAL]
    assert current(sup, "p").alive is False


def test_graceful_shutdown_then_sigkill_after_the_timeout(start_sup, tmp_path: Path) -> None:
    exits = Exits()
    ready = tmp_path / "ready"
    sup = start_sup(
        RestartPolicy(),
        [
            ChildSpec("polite", process=sleep_forever, on_exit=exits),
            ChildSpec(
                "stubborn", process=ignore_sigterm, args=(str(ready),), shutdown=0.3, on_exit=exits
            ),
        ],
    )
    polite, stubborn = current(sup, "polite").ref, current(sup, "stubborn").ref
    wait_until(ready.exists, "the child to ignore SIGTERM")
    sup.stop()
    assert exits.reasons("stubborn") == [ExitReason.KILLED]
    assert stubborn.exitcode == -signal.SIGKILL
    assert exits.reasons("polite") == [ExitReason.SHUTDOWN]
    assert polite.exitcode == -signal.SIGTERM


def test_brutal_kill_kills_at_once(start_sup) -> None:
    exits = Exits()
    sup = start_sup(
        RestartPolicy(),
        [
            ChildSpec("p", process=sleep_forever, shutdown="brutal_kill", on_exit=exits),
        ],
    )
    ref = current(sup, "p").ref
    sup.terminate_child("p")
    assert exits.reasons("p") == [ExitReason.KILLED]
    assert ref.exitcode == -signal.SIGKILL


def test_a_process_that_cannot_start_raises_with_the_cause(start_sup) -> None:
    sup = start_sup(RestartPolicy())
    with pytest.raises(SupervisorError, match="failed to start") as caught:
        sup.start_child(ChildSpec("p", process=lambda: None))
    assert caught.value.__cause__ is not None
    assert sup.lookup("p") is None
