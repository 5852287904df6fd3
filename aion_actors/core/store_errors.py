"""The errors of a store that cannot be opened, written or read as this version needs:
locked by another engine, out of reach or full, written by another schema version."""

from __future__ import annotations

from aion_actors.core.errors import AionError


class DataDirLocked(AionError):
    """Another live engine owns the data directory.

    `in_this_process` is True when that engine lives in the caller's own
    process: then the way out is to close it or reuse it, not to stop a process.
    """

    def __init__(
        self,
        path: str,
        holder_pid: int | None,
        *,
        in_this_process: bool = False,
        holder_host: str | None = None,
    ) -> None:
        self.path = path
        self.holder_pid = holder_pid
        self.holder_host = holder_host
        self.in_this_process = in_this_process
        if in_this_process:
            super().__init__(
                f"data directory {path} is already open by another Engine in this process; "
                "close that engine first (engine.close(), or leave its `with` block), or reuse "
                "it instead of opening a second one — one engine owns a data directory"
            )
            return
        super().__init__(
            f"data directory {path} is locked by {self.holder}; stop that engine first, "
            "or open it read-only for inspection. One engine owns a data directory: several "
            "processes (web server workers: `uvicorn --workers 4`, gunicorn) need a PostgreSQL "
            'store, each process a node — see README "Running several replicas"'
        )

    @property
    def holder(self) -> str:
        """Who holds it, as a message names it: "process 123 on host web-1"."""
        holder = f"process {self.holder_pid}" if self.holder_pid else "another process"
        return f"{holder} on host {self.holder_host}" if self.holder_host else holder


class StoreUnavailable(AionError):
    """The store cannot write now. A storage error is never a workflow crash: runs wait
    (no restart budget spent, nothing recorded as failed) and the engine carries on by
    itself once it can write again; calls that must write fail with this meanwhile."""

    def __init__(self, path: str, cause: str, advice: str = "") -> None:
        self.path = path
        self.cause = cause
        self.advice = advice
        super().__init__(
            f"the store at {path} cannot write: {cause}; "
            f"{advice or 'check the disk and its permissions'} — runs wait and go on by "
            f"themselves once it can write again; {self._recorded}"
        )

    #: what the failed call left behind (a call whose commit is in doubt may be recorded)
    _recorded = "this call recorded nothing"
    #: whether it may have been recorded after all: a run keeping a request it was told
    #: this for looks at its history before recording the request again
    maybe_recorded = False

    def for_later_calls(self) -> StoreUnavailable:
        """What calls made while the store stays unavailable hear (this one's word may be
        about this call alone)."""
        return self


class StoreFull(StoreUnavailable):
    """The store's disk (or its map) is full."""

    def __init__(self, path: str, free_bytes: int | None, what: str = "") -> None:
        self.free_bytes = free_bytes
        free = "" if free_bytes is None else f" ({free_bytes:,} bytes free)"
        super().__init__(
            path,
            what or f"the file system holding it is full{free}",
            "free space there, or move the data directory to a larger disk",
        )


class SchemaMismatch(AionError):
    """The data directory was written by a different on-disk schema version."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        advice = (
            "upgrade aion-actors to a version that reads it"
            if found > supported
            else "migrate it with the version that wrote it"
        )
        super().__init__(
            f"data directory {path} has schema version {found}, this aion-actors reads "
            f"version {supported}; nothing was changed — {advice}"
        )
