"""An activity that passes `@activity` but that no worker process can find by its name.

It was bound to another name after decoration, so `module:qualname` no
longer leads to it.
"""

from aion_actors import activity
from tests.workers.flows import QUICK_RETRIES


@activity(retry=QUICK_RETRIES)
def renamed() -> str:
    return "never runs"


RENAMED = renamed
del renamed
