"""Errors of copying a store's runs into another store (`aion-actors copy`, `copy_store`):
a destination the copy has not finished, and a copy that does not match its source."""

from __future__ import annotations

from datetime import UTC, datetime

from aion_actors.core.errors import AionError


class IncompleteCopy(AionError):
    """The store is a copy `aion-actors copy` began filling and has not finished (it was
    interrupted, or it still runs): every open but the copy's own refuses it, so no engine
    ever runs on part of the runs.

    `path` names the store, `since` is when the copy began (unix ns), `start_over` says
    how to discard it (delete the directory, drop the schema)."""

    def __init__(self, path: str, since: int, start_over: str) -> None:
        self.path = path
        self.since = since
        began = datetime.fromtimestamp(since / 1e9, tz=UTC).isoformat(timespec="seconds")
        super().__init__(
            f"{path} is an incomplete copy: `aion-actors copy` began filling it at {began} and "
            "has not finished (it was interrupted, or it still runs), so it is not opened — "
            f"run the same `aion-actors copy SOURCE {path}` again to finish it (it resumes "
            f"where it stopped), or {start_over} to start over"
        )


class CopyFailed(AionError):
    """A copy found its destination disagreeing with its source (a run, a timer, the
    retention of closed runs); the destination stays marked incomplete (`IncompleteCopy`)."""

    def __init__(self, dest: str, problems: list[str], advice: str) -> None:
        self.dest = dest
        self.problems = problems
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        super().__init__(
            f"the copy in {dest} does not match its source: {shown}; {dest} stays marked "
            f"incomplete, so no engine opens it — {advice}"
        )
