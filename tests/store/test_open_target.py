"""What `Engine.open(target)` opens: a `postgresql://` URL is PostgreSQL, a path the
embedded LMDB store. A URL of another database is refused, and leaves no directory named
after it behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import ConfigError, Engine

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    "target", ["mysql://db.example/orders", "sqlite:///tmp/orders.db", "redis://localhost:6379"]
)
def test_a_url_of_another_database_is_refused_and_creates_no_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="names no store this engine opens; give a postgresql"):
        Engine.open(target)
    assert list(tmp_path.iterdir()) == []


def test_a_path_with_a_colon_is_still_an_lmdb_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with Engine.open("data:2026-12", workers=1):
        pass
    assert (tmp_path / "data:2026-12").is_dir()
