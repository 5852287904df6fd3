"""A replay's verdicts: one `RunReplay` per run, a `ReplayReport` of them, and the
hints that say what to do about a run that does not replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aion_actors.core import AionError

Verdict = Literal["ok", "diverged", "failed", "skipped"]
PATCH_HINT = (
    "if the change is deliberate, keep the old path for the runs that took it: "
    "wrap the changed code in `if ctx.patched('<patch-id>'): <new code> else: <old code>`"
)


def unknown_types_hint(types: Sequence[str], allow: str) -> str:
    """What to do about open runs of `types`, none of them in the app; `allow` is how
    the caller accepts them as they are."""
    named = ", ".join(f"@workflow(name={t!r})" for t in types)
    return (
        "deployed, this code parks each open run of a type it lacks until a workflow of "
        "that type is registered: keep the type in the app (a renamed workflow keeps its "
        f"runs under its old name: {named}), or pass {allow} if they may wait"
    )


def patch_hint(patch: str) -> str:
    """What to do when a run took `patch` and the code no longer asks for it (as the
    engine's `NonDeterminismError` says)."""
    return (
        f"this run took patch {patch!r}: add ctx.patched({patch!r}) "
        "(or ctx.deprecate_patch) where this branch changed"
    )


@dataclass(frozen=True)
class RunReplay:
    """How one run replayed."""

    workflow_id: str
    run_id: str
    workflow_type: str
    verdict: Verdict
    #: for `diverged`: the seq of the recorded event the code did not match
    seq: int | None = None
    #: for `diverged`: what history recorded there, and what the code asked for instead
    recorded: str | None = None
    requested: str | None = None
    #: for `failed` and `skipped`: why (for a history file that cannot be read, the ids
    #: and type are empty, `source` names the file and `detail` what is wrong in it)
    detail: str = ""
    #: where the history came from (a file, a data directory), if known
    source: str = ""
    #: for `diverged`: the patch whose marker history holds where the code asked otherwise
    patch: str | None = None
    #: no workflow of the run's type was given (`skipped`; `failed` for an open run)
    unknown_type: bool = False

    @property
    def hint(self) -> str:
        """For `diverged`: what to do (the patch to add back, or how to keep the old path)."""
        if self.verdict != "diverged":
            return ""
        return PATCH_HINT if self.patch is None else patch_hint(self.patch)

    @property
    def passed(self) -> bool:
        """True unless the run diverged or the code failed on it (skipped runs pass)."""
        return self.verdict in ("ok", "skipped")

    @property
    def label(self) -> str:
        """The run (its ids and type), or the history file that could not be read."""
        if not self.run_id:
            return f"history file {self.source}"
        return f"{self.workflow_id} (run {self.run_id}, {self.workflow_type})"

    def describe(self) -> str:
        """One line: the run and its verdict."""
        run = self.label
        if self.verdict == "diverged":
            return (
                f"{run}: diverged at seq {self.seq}: history recorded {self.recorded}, "
                f"the code asked for {self.requested}"
                + (f" ({self.detail})" if self.detail else "")
            )
        if self.verdict in ("failed", "skipped"):
            return f"{run}: {self.verdict} ({self.detail})"
        return f"{run}: ok"


class ReplayDiverged(AionError):
    """Some histories did not replay against the current code."""

    def __init__(self, failures: Sequence[RunReplay]) -> None:
        self.failures = tuple(failures)
        lines = "".join(
            f"\n  {f.describe()}" + (f"\n    hint: {f.hint}" if f.patch else "")
            for f in self.failures
        )
        plain = any(f.verdict == "diverged" and f.patch is None for f in self.failures)
        unknown = sorted({f.workflow_type for f in self.failures if f.unknown_type})
        allow = "allow_unknown_types=True"
        super().__init__(
            f"{len(self.failures)} run(s) do not replay with the current code:{lines}"
            + (f"\nhint: {PATCH_HINT}" if plain else "")
            + (f"\nhint: {unknown_types_hint(unknown, allow)}" if unknown else "")
        )


@dataclass(frozen=True)
class ReplayReport:
    """Every run's verdict, in the order the histories came."""

    runs: tuple[RunReplay, ...]

    def of(self, verdict: Verdict) -> list[RunReplay]:
        return [r for r in self.runs if r.verdict == verdict]

    @property
    def passed(self) -> bool:
        """True when no run diverged and the code failed on none."""
        return all(r.passed for r in self.runs)

    def raise_on_divergence(self) -> None:
        """Raise `ReplayDiverged` listing every run that diverged or failed."""
        failures = [r for r in self.runs if not r.passed]
        if failures:
            raise ReplayDiverged(failures)
