"""What a run makes visible about itself to operators: search attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aion_actors.core.events._base import Event


@dataclass(frozen=True, kw_only=True, slots=True)
class AttributesSet(Event):
    """`ctx.set_attributes(...)`: merged into the run's search attributes (a None value
    deletes its key). A command in the run's positional sequence, like a patch marker:
    replay finds it where the code sets attributes again and records nothing. The store
    indexes the merged attributes, so `list_runs(attributes=...)` finds the run."""

    attributes: dict[str, Any]
