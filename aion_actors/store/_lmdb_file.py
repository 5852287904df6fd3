"""A data directory's files, checked before LMDB maps them.

LMDB maps `data.mdb` and trusts it: a page past the end of a truncated file
is a `SIGBUS` that kills the process, not an error. So the file is first
checked against its own meta pages. The first two pages of `data.mdb` are
LMDB's meta pages (`MDB_meta`); each records its commit's transaction id
(`mm_txnid`) and the last page number that commit uses (`mm_last_pg`); the
one with the higher transaction id is current. A file shorter than
`(mm_last_pg + 1) * page size` was truncated.

`aion.dir` marks a directory in which a store was created: a missing or
empty `data.mdb` beside it is a lost store, never a new one, and is refused
unless the caller asks to create an empty store in its place.
"""

from __future__ import annotations

import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aion_actors.core import ConfigError
from aion_actors.core.errors import CorruptStore
from aion_actors.store import _lmdb_access

DATA_FILE: Final = "data.mdb"
MARKER: Final = "aion.dir"
MAGIC: Final = 0xBEEFC0DE
#: page header size (bytes before `MDB_meta`) → the on-disk data version it goes with:
#: 16 for LMDB 0.9 (version 1), 24 for LMDB 1.0 (version 3); 64-bit builds.
_LAYOUTS: Final = {16: 1, 24: 3}
_P_META: Final = 0x08
#: LMDB writes integers in the host's byte order (its files do not travel between hosts).
_MAGIC_BYTES: Final = MAGIC.to_bytes(4, sys.byteorder)
#: `MDB_meta` from its start: magic, version, address, mapsize, then two 48-byte
#: `MDB_db` records (the first one's leading u32 is the page size), last_pg, txnid.
_META: Final = struct.Struct("=IIQQI44x48xQQ")
_MARKER_TEXT: Final = (
    "aion-actors data directory: data.mdb beside this file holds its runs.\n"
    "Keep this file: without it a lost data.mdb could not be told from a new directory.\n"
)


@dataclass(frozen=True, slots=True)
class Meta:
    """What the current meta page of `data.mdb` says about the file."""

    page_size: int
    last_page: int
    txnid: int
    file_size: int

    @property
    def needed(self) -> int:
        """The bytes the current commit uses: the file may not be shorter."""
        return (self.last_page + 1) * self.page_size


def read_meta(file: Path) -> Meta:
    """The current meta page of `file`; `CorruptStore` if it is unreadable or truncated."""
    with open(file, "rb") as f:
        head = f.read(64 + _META.size)
        header = next((off for off in _LAYOUTS if head[off : off + 4] == _MAGIC_BYTES), None)
        if header is None:
            raise CorruptStore(str(file), _header_problem(len(head)))
        first = _meta(file, head, header, 0)
        page_size = first[2]
        if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
            raise CorruptStore(str(file), f"its first meta page gives page size {page_size}")
        f.seek(page_size)
        second = _meta(file, f.read(header + _META.size), header, 1)
        # The size is taken after the metas: LMDB extends the file before it writes
        # the meta page that points into the new pages, so a writer in another
        # process never makes a healthy file look short here.
        size = os.fstat(f.fileno()).st_size
    _, _, _, last_page, txnid = max(first, second, key=lambda m: m[4])
    meta = Meta(page_size, last_page, txnid, size)
    if size < meta.needed:
        raise CorruptStore(
            str(file),
            f"the file is truncated: it has {size:,} bytes, but its last commit "
            f"(transaction {txnid}) needs {meta.needed:,} bytes ({last_page + 1:,} pages of "
            f"{page_size:,}); mapping it would crash the process",
        )
    return meta


def _header_problem(length: int) -> str:
    if length < 64:
        return f"the file is truncated: {length} bytes, not even LMDB's first meta page"
    return "it does not start with an LMDB meta page (no LMDB magic number): it is damaged"


def _meta(file: Path, page: bytes, header: int, number: int) -> tuple[int, int, int, int, int]:
    """(magic, version, page size, last page, txnid) of meta page `number`, checked."""
    if len(page) < header + _META.size:
        raise CorruptStore(
            str(file), f"the file is truncated inside LMDB's meta page {number} ({number + 1} of 2)"
        )
    flags = int.from_bytes(page[header - 6 : header - 4], sys.byteorder)
    magic, version, _address, _map_size, page_size, last_page, txnid = _META.unpack_from(
        page, header
    )
    if magic != MAGIC or not flags & _P_META:
        raise CorruptStore(str(file), f"LMDB's meta page {number} is damaged (no magic number)")
    if version != _LAYOUTS[header]:
        raise CorruptStore(
            str(file),
            f"LMDB's meta page {number} has data version {version}, not {_LAYOUTS[header]}",
        )
    return magic, version, page_size, last_page, txnid


def check_directory(directory: Path, *, readonly: bool, create: bool | None) -> None:
    """Refuse what LMDB must not map or silently create; returns when it may open.

    `create`: None creates a store only where none was; True also where one
    was lost (its `data.mdb` missing or empty); False never creates one.
    """
    data = directory / DATA_FILE
    try:
        size: int | None = data.stat().st_size
    except FileNotFoundError:
        size = None
    if size:
        try:
            read_meta(data)
        except PermissionError:
            raise _lmdb_access.unreadable(data) from None
        return
    marked = (directory / MARKER).exists()
    what = "is missing" if size is None else "is empty (0 bytes)"
    if readonly:
        if size is None and not marked:
            raise ConfigError(
                f"{directory} is not an aion-actors data directory (it has no {DATA_FILE}); "
                "check the path"
            )
        raise CorruptStore(
            str(data),
            f"the data file {what}"
            + (f", though {MARKER} says a store was created here" if marked else ""),
        )
    if marked and create is not True:
        raise CorruptStore(
            str(data),
            f"the data file {what}, but {MARKER} beside it says a store was created here: "
            "its runs are not there, and it was not re-created as an empty store",
            advice=f"restore {DATA_FILE} from a backup; to start over with an empty store "
            f"instead, run `aion-actors doctor {directory} --create-empty` "
            "(or open it with LmdbStore(path, create=True))",
        )
    if create is False:
        raise ConfigError(
            f"{directory} holds no aion-actors store and create=False was given; check the path"
        )


def mark(directory: Path) -> None:
    """Write `aion.dir` once a store exists in `directory` (atomically, durably)."""
    marker = directory / MARKER
    temporary = directory / f".{MARKER}.{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, _MARKER_TEXT.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, marker)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
