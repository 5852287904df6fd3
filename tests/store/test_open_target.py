"""What `Engine.open(target)` opens: a `postgresql://` URL is PostgreSQL, a path the
embedded LMDB store. A URL of another database is refused, and leaves no directory named
after it behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_actors import ConfigError, Engine
from aion_actors.store import LmdbStore

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


def test_a_file_where_the_data_directory_should_be_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("notes")
    with pytest.raises(ConfigError, match=r"data directory .*data is a file; give the path of a"):
        Engine.open(tmp_path / "data")
    assert (tmp_path / "data").read_text() == "notes"


def test_a_map_size_too_small_for_an_empty_store_is_refused_and_the_directory_opens_after(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match=r"map_size=10 is invalid: expected an integer >= 1048"):
        Engine.open(tmp_path / "data", map_size=10)  # refused as aion.toml refuses it
    with pytest.raises(ConfigError, match=r"map_size=10 bytes cannot hold even an empty store"):
        LmdbStore(tmp_path / "data", map_size=10)  # the store's own floor, below the engine's
    with Engine.open(tmp_path / "data", workers=1) as engine:  # nothing held, nothing damaged
        assert engine.stats()["resident"] == 0


def test_an_unknown_open_option_is_a_type_error_naming_it_and_the_options(
    tmp_path: Path,
) -> None:
    with pytest.raises(
        TypeError, match=r"Engine.open\(\) got an unknown option 'worker'; it takes"
    ):
        Engine.open(tmp_path / "data", worker=2)  # type: ignore[call-arg]
    assert not (tmp_path / "data").exists()
