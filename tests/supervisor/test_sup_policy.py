"""Backoff maths and argument checking."""

from __future__ import annotations

import abc
import math

import pytest

from supervisor import (
    MOST_RESTARTS,
    Backoff,
    ChildSpec,
    ExitReason,
    PooledActor,
    RestartPolicy,
    RestartWindow,
    Supervisor,
    SupervisorError,
)
from supervisor.spec import actor_class
from tests.supervisor.helpers import Worker, exit_with


def test_backoff_formula() -> None:
    backoff = Backoff(initial=0.1, multiplier=3.0, max=2.0, jitter=0.2)
    assert [backoff.delay(n, lambda: 0.0) for n in range(5)] == pytest.approx(
        [0.1, 0.3, 0.9, 2.0, 2.0]
    )
    assert backoff.delay(1, lambda: 0.5) == pytest.approx(0.3 * 1.1)
    assert backoff.delay(10_000, lambda: 0.0) == 2.0
    assert Backoff().delay(7, lambda: 0.9) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": -1.0},
        {"multiplier": 0.5},
        {"max": -1.0},
        {"jitter": -0.1},
        {"initial": math.nan},  # (NaN passes every `< 0`: it waited the max, or not at all)
        {"max": math.nan},
        {"multiplier": math.nan},
        {"jitter": math.nan},
        {"initial": math.inf},
        {"max": math.inf},
    ],
)
def test_bad_backoff_is_refused_naming_the_field(kwargs: dict[str, float]) -> None:
    [(name, value)] = kwargs.items()
    with pytest.raises(ValueError, match=rf"^Backoff\({name}={value!r}\): must be a finite"):
        Backoff(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"strategy": "all_for_one"},
        {"max_restarts": -1},
        {"max_restarts": 2**63 - 1},  # (a deque of that length raised OverflowError at start)
        {"within_seconds": 0},
        {"within_seconds": math.nan},
        {"within_seconds": math.inf},
        {"on_exhausted": "explode"},
        {"restart": "sometimes"},
    ],
)
def test_bad_policy_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RestartPolicy(**kwargs)  # type: ignore[arg-type]


def test_bad_child_specs_are_refused() -> None:
    with pytest.raises(TypeError, match="exactly one"):
        ChildSpec("k")
    with pytest.raises(TypeError, match="exactly one"):
        ChildSpec("k", actor=Worker, process=exit_with)
    with pytest.raises(TypeError, match="ThreadingActor"):
        ChildSpec("k", actor=dict)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shutdown"):
        ChildSpec("k", actor=Worker, shutdown=-1)
    with pytest.raises(ValueError, match="fork"):
        ChildSpec("k", process=exit_with, start_method="fork")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="restart_history holds ages in seconds, all >= 0"):
        ChildSpec("k", actor=Worker, restart_history=(math.nan,))


def test_the_largest_restart_budget_is_usable() -> None:
    window = RestartWindow(RestartPolicy(max_restarts=MOST_RESTARTS, within_seconds=1.0))
    assert window.add(0.0) == 1


def test_a_supervisor_refuses_children_that_are_not_child_specs() -> None:
    with pytest.raises(SupervisorError, match="its children must be ChildSpecs, not 'notaspec'"):
        Supervisor.start(RestartPolicy(), ["notaspec"])  # type: ignore[list-item]


def test_exit_reasons_from_exit_codes() -> None:
    assert ExitReason.from_exitcode(0) == ExitReason.NORMAL
    assert ExitReason.from_exitcode(3) == ExitReason("exit", code=3)
    assert ExitReason.from_exitcode(-9) == ExitReason("signal", signal=9)
    assert [r.abnormal for r in (ExitReason.NORMAL, ExitReason.SHUTDOWN, ExitReason.KILLED)] == [
        False,
        False,
        False,
    ]
    assert ExitReason.crash(ValueError("x")).abnormal


def test_a_spec_built_per_spawn_checks_its_actor_class_against_pykka_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pykka's actor classes are ABCs: `issubclass` against them runs Python code. A host
    builds a spec per spawn of one class, so the class is checked once, then looked up."""

    class Pooled(PooledActor):
        pass

    ChildSpec(key="first", actor=Pooled)
    assert actor_class(Pooled) == (True, True) and actor_class(Worker) == (True, False)
    checked: list[type] = []
    subclasscheck = abc.ABCMeta.__subclasscheck__

    def counted(cls: abc.ABCMeta, subclass: type) -> bool:
        checked.append(subclass)
        return subclasscheck(cls, subclass)

    monkeypatch.setattr(abc.ABCMeta, "__subclasscheck__", counted)
    for key in range(3):
        ChildSpec(key=key, actor=Pooled)
    assert checked == []
    with pytest.raises(TypeError, match="ThreadingActor"):  # still refused, every time
        ChildSpec(key="bad", actor=dict)  # type: ignore[arg-type]
