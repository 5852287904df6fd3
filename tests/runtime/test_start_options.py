"""What `start` makes of its options: none at all is the common start, and costs nothing."""

from __future__ import annotations

import pytest

from aion_actors.runtime.runs.policies import StartPolicy
from aion_actors.runtime.timeouts import NO_TIMEOUTS, Timeouts
from aion_actors.starting import StartOptions, options_checked, policy_of

pytestmark = pytest.mark.timeout(10)


def test_a_start_without_options_shares_the_no_timeouts_value_and_builds_no_policy() -> None:
    assert options_checked(StartOptions()) == (NO_TIMEOUTS, None)
    assert options_checked(StartOptions())[0] is NO_TIMEOUTS  # nothing built per start
    assert policy_of(StartOptions()) is None


def test_start_options_are_still_checked_when_given() -> None:
    given = StartOptions(run_timeout=5, if_open="use_existing")
    assert options_checked(given)[0] == Timeouts(run_timeout=5.0)
    assert policy_of(given) == StartPolicy("use_existing", "allow")
    assert policy_of(StartOptions(if_open="fail")) is None  # the default, spelled out
    with pytest.raises(TypeError, match="unexpected start option"):
        options_checked({"run_timout": 5})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(ValueError, match="run_timeout"):
        options_checked(StartOptions(run_timeout=-1))
