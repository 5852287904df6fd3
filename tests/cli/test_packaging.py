"""What an installed user has: the package's docstring and the wheel's contents."""

from __future__ import annotations

import importlib.metadata
import re

import aion_actors


def test_package_docstring_points_only_to_documents_users_have() -> None:
    doc = aion_actors.__doc__ or ""
    named = set(re.findall(r"[\w-]+\.md\b", doc))
    assert named == {"README.md"}, f"the docstring names {sorted(named)}"
    long_description = importlib.metadata.metadata("aion-actors").get_payload()
    assert isinstance(long_description, str) and "## Quick start" in long_description
