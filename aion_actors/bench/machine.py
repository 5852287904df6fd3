"""What the figures were measured on, recorded next to them in the JSON."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

_LIBRARIES = ("pykka", "msgpack", "lmdb", "aion-actors")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def machine_info() -> dict[str, Any]:
    """Cores, memory, Python, platform and the versions of the building blocks."""
    return {
        "cores": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {name: _version(name) for name in _LIBRARIES},
    }
