"""Testing workflows: `TestEngine` on a `VirtualClock`, and a pytest plugin.

`pytest -p aion_actors.testing` (or `pytest_plugins = ["aion_actors.testing"]`
in a conftest) gives each test an `aion_engine` fixture.
"""

from __future__ import annotations

from aion_actors.testing.clock import VirtualClock
from aion_actors.testing.engine import TestEngine

__all__ = ["TestEngine", "VirtualClock"]

try:  # the fixture, for pytest's `-p aion_actors.testing`; pytest is not a dependency
    from aion_actors.testing._pytest import aion_engine
except ImportError:  # pragma: no cover - without pytest there is nothing to plug into
    pass
else:
    __all__ += ["aion_engine"]
