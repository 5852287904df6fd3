"""The values built at every step of a run (a commit's answer, an attempt's outcome, where an
await landed, a recorded command) are typed, immutable tuples: cheap to build, equal by field."""

from __future__ import annotations

import dataclasses

import pytest

from aion_actors.runtime import messages as msg
from aion_actors.runtime.parts import Resolution
from aion_actors.runtime.recorded import Recorded
from aion_actors.workers import Outcome

pytestmark = pytest.mark.timeout(10)


def test_per_step_values_are_immutable_named_tuples_equal_by_field() -> None:
    outcome = Outcome(ok=True, result=3)
    values = [
        msg.Committed([], None),
        msg.ActivityOutcome("1", 1, outcome),
        Resolution(seq=4, recorded_at=5),
        Recorded("activity", "bump", "1", 2),
    ]
    for value in values:
        assert isinstance(value, tuple) and not dataclasses.is_dataclass(value)
        with pytest.raises(AttributeError):
            value.seq = 9  # type: ignore[misc,union-attr]
    assert msg.ActivityOutcome("1", 1, outcome) == msg.ActivityOutcome("1", 1, outcome)
    assert msg.ActivityOutcome("1", 1, outcome).heartbeat is None
    assert msg.Committed([], None).after_close == ()
    assert Resolution(4, 5).value is None and Resolution(4, 5).error is None
    assert Recorded("timer", "sleep", "t1", 3).describe() == "timer (ctx.sleep)"
