"""The typed settings an `aion.toml` holds besides restart policies: `[engine]`, `[activity.*]`."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from aion_actors.core import MAX_PAYLOAD_BYTES
from aion_actors.runtime.definitions import RetryPolicy
from aion_actors.runtime.rates import Rate

__all__ = ["UNSET", "ActivityConfig", "EngineConfig", "QueueConfig", "Unset"]


class Unset(enum.Enum):
    """The type of `UNSET`: an argument left out, as opposed to one passed as None."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


@dataclass(frozen=True)
class EngineConfig:
    """The `[engine]` table; every field holds the built-in default unless the file sets it.

    `workers=None` means one worker process per CPU; `map_size=None` the
    store's default (1 GiB, grown when full); `idle_evict_after=None` never
    evicts idle runs (`false` in the file). `store` (a `postgresql://` URL)
    chooses the Postgres store instead of an LMDB `data_dir`.
    """

    data_dir: Path | None = None
    store: str | None = None
    workers: int | None = None
    threads: int = 32
    max_resident: int = 10_000
    idle_evict_after: float | None = 30.0
    durability: Literal["sync", "nosync"] = "sync"
    map_size: int | None = None
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    #: a Postgres store's node: its id (None: generated), lease and renewal (seconds)
    node_id: str | None = None
    lease: float | None = None
    renew_every: float | None = None

    def override(self, **given: Any) -> EngineConfig:
        """These settings with the arguments a caller passed explicitly on top.

        An argument left `UNSET`, or None (except `idle_evict_after`, where
        None means "never"), keeps the file's value.
        """
        explicit = {
            key: value
            for key, value in given.items()
            if value is not UNSET and (value is not None or key == "idle_evict_after")
        }
        return dataclasses.replace(self, **explicit)


@dataclass(frozen=True)
class ActivityConfig:
    """One `[activity.<name>]` table; None where the file does not say."""

    retry: RetryPolicy | None = None
    timeout: float | None = None
    executor: Literal["process", "thread"] | None = None
    concurrency: int | None = None
    rate: Rate | None = None


@dataclass(frozen=True)
class QueueConfig:
    """One `[queue.<name>]` table; None where the file does not say."""

    concurrency: int | None = None
    per_key: int | None = None
    rate: Rate | None = None
    priority: bool | None = None
