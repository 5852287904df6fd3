"""Inspecting a data directory this user may not write. On a read-only file system (a
backup's mount) no writer can exist, so it is read without LMDB's lock file; where the
user merely may not write it, another user's engine may be writing, so reading without
the lock is refused, naming the directory and what to do. Writing is refused in both,
saying why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aion_actors.core import ConfigError
from aion_actors.store import LmdbStore, doctor
from aion_actors.store._lmdb_access import LMDB_LOCK, Access, reader_lock
from tests.store import access, damage


def test_reader_lock_is_taken_where_it_can_be_skipped_on_a_read_only_fs_refused_elsewhere(
    tmp_path: Path,
) -> None:
    assert Access.of(tmp_path) == Access(read_only_fs=False, lockable=True)
    assert reader_lock(tmp_path) is True
    assert reader_lock(tmp_path, Access(read_only_fs=False, lockable=True)) is True
    assert reader_lock(tmp_path, Access(read_only_fs=True, lockable=False)) is False
    with pytest.raises(ConfigError) as refused:
        reader_lock(tmp_path, Access(read_only_fs=False, lockable=False))
    said = str(refused.value)
    assert said.startswith(f"data directory {tmp_path} cannot be read safely by this user")
    assert f"a reader writes LMDB's lock file {LMDB_LOCK} there" in said
    assert f"`cp -a {tmp_path} COPY`" in said and "a read-only mount of it" in said


@pytest.mark.parametrize("lock_file", ["kept", "not copied"])
def test_a_directory_on_a_read_only_mount_is_read_without_the_lock_and_never_written(
    tmp_path: Path, lock_file: str
) -> None:
    data = tmp_path / "backup"
    damage.write_runs(data)
    with LmdbStore(data, readonly=True) as store:
        runs, history = store.runs(), store.read("order-07", "run7")
    if lock_file == "not copied":
        (data / LMDB_LOCK).unlink()
    before = {file.name: damage.digest(file) for file in data.iterdir()}
    with access.read_only_mount(data):
        with LmdbStore(data, readonly=True) as store:
            assert store.runs() == runs and store.read("order-07", "run7") == history
        checked = doctor.check(data)
        assert checked.healthy, checked.steps
        assert ("pages", "every page is sound and reachable once", True) in checked.steps
        for write in (lambda: LmdbStore(data).close(), lambda: doctor.rebuild_index(data)):
            with pytest.raises(ConfigError) as refused:
                write()
            said = str(refused.value)
            assert said.startswith(f"data directory {data} is on a read-only file system")
            assert f"inspect it as it is, read-only (`aion-actors runs {data}`" in said
    assert {file.name: damage.digest(file) for file in data.iterdir()} == before


def test_a_read_only_view_of_a_directory_an_engine_owns_is_refused_naming_its_process(
    tmp_path: Path,
) -> None:
    """A read-only bind mount (or container volume) of a live directory: the file system
    is read-only, yet a writer exists. Its owner lock is the same through every path."""
    data, view = tmp_path / "live", tmp_path / "view"
    damage.write_runs(data)
    view.mkdir()
    with access.read_only_mount(data, at=view):
        with LmdbStore(data):  # an engine owns it, through the writable path
            for inspect in (
                lambda: LmdbStore(view, readonly=True).close(),
                lambda: doctor.check(view),
            ):
                with pytest.raises(ConfigError) as refused:
                    inspect()
                assert str(refused.value).startswith(
                    f"data directory {view} is on a read-only file system, but an engine "
                    f"(process {os.getpid()}) owns it through another, writable path"
                )
        with LmdbStore(view, readonly=True) as store:  # the engine is gone
            assert len(store.runs()) == damage.RUNS
        assert doctor.check(view).healthy


@pytest.mark.parametrize("lock_file", ["there", "missing"])
def test_a_directory_another_user_may_be_writing_is_refused_naming_it_and_what_to_do(
    lock_file: str,
) -> None:
    with access.shared_directory() as shared:
        data = shared / "data"
        damage.write_runs(data)
        if lock_file == "missing":
            (data / LMDB_LOCK).unlink()
        access.let_others_read(data)
        said = access.as_a_user_who_may_not_write(
            data, lambda: len(LmdbStore(data, readonly=True).runs())
        )
        assert said.startswith(
            f"ConfigError: data directory {data} cannot be read safely by this user"
        ), said
        assert f"`cp -a {data} COPY`" in said
        assert (data / LMDB_LOCK).exists() == (lock_file == "there")


def test_a_data_file_this_user_may_not_read_is_refused_naming_it() -> None:
    if not access.running_as_root():
        pytest.skip("as its owner, this user may always read its own data file")
    with access.shared_directory() as shared:
        data = shared / "data"
        damage.write_runs(data)
        data.chmod(0o755)  # data.mdb stays the owner's alone (0600, as created)
        said = access.as_a_user_who_may_not_write(
            data, lambda: LmdbStore(data, readonly=True).runs()
        )
        assert said.startswith(
            f"ConfigError: {data / 'data.mdb'} cannot be read by this user (user nobody; it "
            "belongs to user root): run the command as user root"
        ), said
