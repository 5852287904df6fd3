"""Data directories this process may read but not write, for real: one on a read-only
mount, and one whose user may not write it (another user's).

A read-only bind mount needs root (the tests run as root in CI); the test is skipped,
saying so, where mounting is not permitted. Root's access ignores permission bits, so
root reads as user nobody in a child process; any other user has the write bits taken
off its own directory.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aion_actors.store import _lmdb_access

NOBODY = 65534


@contextlib.contextmanager
def read_only_mount(directory: Path, at: Path | None = None) -> Iterator[None]:
    """`directory` bind-mounted read-only on itself (or at `at`), until the block ends."""
    source, path = str(directory), str(directory if at is None else at)
    try:
        bound = subprocess.run(["mount", "--bind", source, path], capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("no mount command here: a read-only bind mount cannot be made")
    if bound.returncode:
        pytest.skip(f"mount --bind is not permitted here (it needs root): {bound.stderr.strip()}")
    try:
        ro = ["mount", "-o", "remount,ro,bind", path, path]
        remounted = subprocess.run(ro, capture_output=True, text=True)
        if remounted.returncode:
            pytest.skip(f"a bind mount cannot be made read-only here: {remounted.stderr.strip()}")
        assert _lmdb_access.Access.of(Path(path)).read_only_fs
        yield
    finally:
        subprocess.run(["umount", path], check=True)


@contextlib.contextmanager
def shared_directory() -> Iterator[Path]:
    """An empty directory other users can reach (pytest's own are its user's alone)."""
    parent = Path(tempfile.mkdtemp(prefix="aion-shared-"))
    try:
        parent.chmod(0o755)
        yield parent
    finally:
        shutil.rmtree(parent)


def let_others_read(directory: Path) -> None:
    """What an owner does to share a directory for reading: r-x on it, r on its files."""
    directory.chmod(0o755)
    for file in directory.iterdir():
        file.chmod(0o644)


def running_as_root() -> bool:
    return os.geteuid() == 0


def as_a_user_who_may_not_write(directory: Path, action: Callable[[], object]) -> str:
    """What `action()` returns (its repr) or raises (`Type: message`), called by a user who
    may read `directory` but not write it: nobody, in a child process, when this one is
    root; else this user, with the write bits taken off the directory and its files."""
    if not running_as_root():
        modes = {p: p.stat().st_mode for p in [directory, *directory.iterdir()]}
        for path, mode in modes.items():
            path.chmod(stat.S_IMODE(mode) & ~0o222)
        try:
            return _outcome(action)
        finally:
            for path, mode in modes.items():
                path.chmod(stat.S_IMODE(mode))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: reports through the pipe, never returns into pytest
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write, _outcome(action).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(pid, 0)
    return said


def _outcome(action: Callable[[], object]) -> str:
    try:
        return repr(action())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def cli(*argv: str) -> tuple[int, str]:
    """`aion-actors ARGV` in this process: its exit code, and what it wrote to stdout and
    stderr (a child process of `as_a_user_who_may_not_write` cannot run the interpreter
    again: its files may be unreadable to user nobody)."""
    from aion_actors.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()
