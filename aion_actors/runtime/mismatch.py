"""Code that cannot take what its run's history recorded: a run to park, not to fail.

A deploy can change what a workflow accepts: a dataclass gains a required
field, so a recorded result no longer decodes (`PayloadError`), or the
workflow gains a required parameter, so the recorded start arguments no
longer fit its signature. Old code recorded that history, and failing the run
would turn the deploy into lost runs; so the run is parked instead, as a
divergence parks it (`ReplayMismatch` is a `NonDeterminismError`), and
`engine.resume()` rebuilds it once code that takes the history is deployed.

What the run meets *live* — a new run's input, an outcome recorded by this
incarnation, the arguments of a command history has no place for — repeats
on every replay of the same code: a `PayloadError` there fails the run, and
a new start whose arguments do not fit is refused with a `TypeError`.
`ReplayEdge` tells the two apart for one machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aion_actors.core import NonDeterminismError, PayloadError
from aion_actors.core import events as ev
from aion_actors.runtime.arity import signature_of
from aion_actors.runtime.definitions import WorkflowDefinition
from aion_actors.runtime.patches import CommandSequence


class ReplayMismatch(NonDeterminismError):
    """History recorded what the current code cannot take; the run is parked.

    `recorded` and `requested` say what history holds at `seq` and what the
    code made of it, as a divergence's do; `problem` says it in a sentence."""

    def __init__(
        self,
        workflow_id: str,
        run_id: str,
        seq: int,
        recorded: str,
        requested: str,
        *,
        problem: str,
        advice: str,
    ) -> None:
        super().__init__(workflow_id, run_id, seq, recorded, requested)
        Exception.__init__(  # (its own message, not a divergence's)
            self,
            f"workflow {workflow_id!r} (run {run_id}) cannot replay its history at seq {seq}: "
            f"{problem}; the run is parked — {advice}, then `engine.resume()` it",
        )


class ReplayEdge:
    """Where the history committed before this incarnation ends, for one machine: which
    `PayloadError` escaping the code is a `ReplayMismatch`."""

    def __init__(self, workflow_id: str, run_id: str, history: Sequence[ev.Event], to: int) -> None:
        self._names = workflow_id, run_id
        #: the last seq committed before this incarnation; 0 for a run being started
        self.recorded_to = to
        last = history[-1]
        #: history ends with the run failed by a PayloadError: code that raises one again
        #: replays that ending (a query on the failed run, a replay check), nothing to park
        self._ended_so = isinstance(last, ev.WorkflowFailed) and (
            last.error.get("type") == PayloadError.__name__
        )
        self._undecoded: tuple[PayloadError, int] | None = None

    def thrown(self, error: PayloadError, seq: int) -> None:
        """The payload of event `seq` did not decode: `error` is raised in the code."""
        self._undecoded = error, seq

    def check(self, exc: PayloadError, commands: CommandSequence) -> None:
        """Raise `ReplayMismatch` if `exc`, escaping the code, falls on recorded history: a
        recorded payload it could not decode, or the arguments of a command recorded at the
        place where the code could not encode them."""
        if self._ended_so or not self.recorded_to:
            return
        if self._undecoded is not None and exc is self._undecoded[0]:
            if (seq := self._undecoded[1]) <= self.recorded_to:
                raise ReplayMismatch(
                    *self._names,
                    seq,
                    f"the payload {exc.path}",
                    f"a payload it can take ({exc.problem})",
                    problem=f"the code cannot take a payload history recorded: {exc}",
                    advice="deploy code that decodes what was recorded (a new field with a "
                    "default, say, or a converter that reads the old shape)",
                )
        elif (place := commands.ahead()) is not None:
            raise ReplayMismatch(
                *self._names,
                place.seq,
                place.describe(),
                f"arguments it cannot encode ({exc})",
                problem=f"history recorded {place.describe()} here, and the code can no longer "
                f"encode its payload: {exc}",
                advice="deploy code that passes what it passed when the run recorded it",
            )

    def misfit(self, definition: WorkflowDefinition, args: Sequence[Any], seq: int) -> Exception:
        """What to raise when `args` do not fit `definition`'s signature: a `ReplayMismatch`
        for recorded start arguments, a `TypeError` refusing a new run's start."""
        shown, problem = _signature(definition, args)
        count = f"{len(args)} argument{'' if len(args) == 1 else 's'}"
        count += f" ({', '.join(type(arg).__name__ for arg in args)})" if args else ""
        takes = f"workflow {definition.name!r} takes ({shown}) after ctx"
        if not self.recorded_to:
            return TypeError(f"{takes}, but was started with {count}: {problem}")
        return ReplayMismatch(
            *self._names,
            seq,
            f"start arguments: {count}",
            f"{definition.name}({shown}) ({problem})",
            problem=f"the run's recorded start arguments, {count}, do not fit the code: "
            f"{takes} ({problem})",
            advice=f"deploy code whose workflow {definition.name!r} takes them (a new "
            "parameter with a default, say)",
        )


def _signature(definition: WorkflowDefinition, args: Sequence[Any]) -> tuple[str, str]:
    """`definition`'s parameters after ctx, as written, and why `args` do not bind to them
    (called only once `arity.misfit` found they do not: it has a signature)."""
    signature = signature_of(definition.fn)
    assert signature is not None
    parameters = list(signature.parameters.values())[1:]
    shown = ", ".join(
        str(p.replace(annotation=_Written(p.annotation)) if isinstance(p.annotation, str) else p)
        for p in parameters
    )
    try:
        signature.bind(None, *args)
    except TypeError as exc:
        return shown, str(exc)
    return shown, "it does not take them"


class _Written:
    """A string annotation, shown as written (not quoted)."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text
