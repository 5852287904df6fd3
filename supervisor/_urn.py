"""The urn of an actor a host starts per request: a random uuid4, made without `os.urandom`."""

from __future__ import annotations

import os
import random

__all__ = ["new_urn"]

_urns = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _urns.seed(os.urandom(32)))
#: a version-4 uuid's fixed bits (version 4, variant RFC 4122) and the random ones
_UUID4 = (0x4 << 76) | (0x2 << 62)
_UUID4_RANDOM = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)


def new_urn() -> str:
    """A random version-4 uuid urn, as `uuid.uuid4().urn` spells it, formatted here: no
    `os.urandom` (it releases the GIL) and no `uuid.UUID` built (its checks run Python)."""
    digits = f"{_urns.getrandbits(128) & _UUID4_RANDOM | _UUID4:032x}"
    return f"urn:uuid:{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
