"""What each key of each `aion.toml` table accepts, and why some tempting values are refused.

`[workers]` takes the keys of `[restart.*]` that apply to a worker pool, so
both kinds of table are checked by the same `Key`s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from aion_actors.core.durations import LONGEST_PERIOD, LONGEST_PERIOD_TEXT
from supervisor import MOST_RESTARTS

__all__ = [
    "ACTIVITY_KEYS",
    "ENGINE_KEYS",
    "MIN_MAP_SIZE",
    "QUEUE_KEYS",
    "RESTART_KEYS",
    "UNLIMITED",
    "WHY_NOT",
    "WORKERS_KEYS",
    "Key",
]


@dataclass(frozen=True)
class Key:
    """What one key accepts: a check on the parsed TOML value and its description."""

    allowed: str
    check: Callable[[Any], bool]


def _number(
    low: float, *, strict: bool = False, integer: bool = False, high: float = math.inf
) -> Key:
    kind = "an integer" if integer else "a finite number"
    bound = f"> {low:g}" if strict else f">= {low:g}"
    if high < math.inf:
        bound += f" and at most {high:_}"

    def check(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            return False
        above = value > low if strict else value >= low
        return math.isfinite(value) and above and value <= high

    return Key(f"{kind} {bound}", check)


def _choice(*values: str) -> Key:
    return Key("one of " + ", ".join(f'"{v}"' for v in values), lambda v: v in values)


def _seconds_or_false() -> Key:
    seconds = _number(0)  # 0: as soon as it idles
    return Key(
        f"{seconds.allowed} (seconds), or false for never",
        lambda v: v is False or seconds.check(v),
    )


#: the least `map_size` the engine opens a store with (LMDB's pages of an empty store fit)
MIN_MAP_SIZE: Final = 1 << 20


def _map_size() -> Key:
    least = _number(MIN_MAP_SIZE, integer=True)
    return Key(f"an integer >= {MIN_MAP_SIZE} (bytes of address space: 1 MiB)", least.check)


def _rate() -> Key:
    limit, per = _number(1, integer=True), _number(0, strict=True, high=LONGEST_PERIOD)
    return Key(
        f"an array [limit, seconds]: an integer >= 1 and a number > 0 and at most "
        f"{LONGEST_PERIOD_TEXT}, e.g. [20, 1.0] for at most 20 starts in any second",
        lambda v: isinstance(v, list) and len(v) == 2 and limit.check(v[0]) and per.check(v[1]),
    )


#: `retry_max_attempts = "unlimited"`: `RetryPolicy(max_attempts=None)`
UNLIMITED: Final = "unlimited"

ENGINE_KEYS: Final[Mapping[str, Key]] = {
    "data_dir": Key("a path (string)", lambda v: isinstance(v, str) and v != ""),
    "store": Key(
        'a "postgresql://" URL (string)',
        lambda v: isinstance(v, str) and v.startswith(("postgresql://", "postgres://")),
    ),
    "workers": _number(1, integer=True),
    "threads": _number(1, integer=True),
    "max_resident": _number(1, integer=True),
    "idle_evict_after": _seconds_or_false(),
    "durability": _choice("sync", "nosync"),
    "map_size": _map_size(),
    "max_payload_bytes": _number(1, integer=True),
    "node_id": Key(
        "a node id (non-empty string)", lambda v: isinstance(v, str) and v.strip() != ""
    ),
    "lease": _number(0, strict=True),
    "renew_every": _number(0, strict=True),
}
RESTART_KEYS: Final[Mapping[str, Key]] = {
    "strategy": Key(
        '"one_for_one" (of the strategies "one_for_one", "one_for_all", "rest_for_one", '
        "only one_for_one applies to workflow runs)",
        lambda v: v == "one_for_one",
    ),
    "max_restarts": _number(0, integer=True, high=MOST_RESTARTS),
    "within_seconds": _number(0, strict=True),
    "on_exhausted": _choice("fail", "park"),
    "restart": _choice("transient", "temporary"),
    "backoff_initial": _number(0),
    "backoff_multiplier": _number(1),
    "backoff_max": _number(0),
    "backoff_jitter": _number(0),
}
_RUN_ONLY_KEYS: Final = ("strategy", "on_exhausted", "restart")
#: `[workers]`: the restart keys a worker pool uses (each worker is replaced on its own, always)
WORKERS_KEYS: Final[Mapping[str, Key]] = {
    k: v for k, v in RESTART_KEYS.items() if k not in _RUN_ONLY_KEYS
}
ACTIVITY_KEYS: Final[Mapping[str, Key]] = {
    "retry_max_attempts": Key(
        'an integer >= 1, or "unlimited"',
        lambda v: v == UNLIMITED or _number(1, integer=True).check(v),
    ),
    "retry_initial": _number(0),
    "retry_multiplier": _number(1),
    "retry_max_interval": _number(0),
    "timeout": _number(0, strict=True),
    "executor": _choice("process", "thread"),
    "concurrency": _number(1, integer=True),
    "rate": _rate(),
}
#: `[queue.<name>]`: a queue's limits (see `Queue`)
QUEUE_KEYS: Final[Mapping[str, Key]] = {
    "concurrency": _number(1, integer=True),
    "per_key": _number(1, integer=True),
    "rate": _rate(),
    "priority": Key("true or false", lambda v: isinstance(v, bool)),
}
#: (key, value) -> why that value is refused, said instead of the bare list of what is allowed
WHY_NOT: Final[Mapping[tuple[str, str], str]] = {
    ("strategy", "one_for_all"): "each run is supervised on its own, so only "
    '"one_for_one" applies to workflow runs',
    ("strategy", "rest_for_one"): "each run is supervised on its own, so only "
    '"one_for_one" applies to workflow runs',
    ("on_exhausted", "escalate"): "escalating would stop every run of the engine because "
    'one run crashed too often; use "fail" (record WorkflowFailed) or "park" (keep it for '
    "engine.resume() after a fix)",
    ("restart", "permanent"): 'a run that completed is never restarted; use "transient" '
    '(restart after crashes) or "temporary" (never restart)',
}
