"""Handing a run's batch to the recorder, and its commit back to the run's actor.

The commit's outcome reaches the actor as a `Committed` message: the actor
acts on its events there (record, then act). A run alone in the engine (no
other actor waiting for a turn, the recorder idle) commits in its own
thread: its `Committed` is then queued before this returns and handled in
the same turn, which spares the two thread hand-offs a commit otherwise
costs (to the recorder's writer and back), with the same order of things.

A failed append's requests are left to the actor, which knows what becomes
of them (see `unrecorded`); to `Orphans` should it be gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pykka

from aion_actors.core import RunKey
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.host import RunHost
from aion_actors.runtime.orphans import Orphans
from aion_actors.store import Commit


def submit(
    host: RunHost,
    key: RunKey,
    generation: int,
    ref: pykka.ActorRef[Any],
    batch: Sequence[ev.Event],
    expected_seq: int,
    acks: list[msg.Ack],
    sent: msg.Sent | None,
    epoch: int | None = None,
) -> Commit:
    """Append `batch` after `expected_seq`; once committed, resolve `acks` (those of a
    batch that closes the run wait for the actor to have acted on it) and tell `ref`.
    `sent` holds the batch's requests, whose acks come first in `acks`: should the append
    fail, the acks after theirs (a start's) hear why, and `ref` decides what becomes of
    `sent` (see `unrecorded`). `epoch`: its partition's, the actor's (`AppendRequest`)."""
    for ack in acks:
        ack.submitted = True
    closes = False
    for event in batch:  # (a loop, not any(): this runs for every batch)
        if isinstance(event, ev.ENDINGS):
            closes = True
            break

    def committed(events: list[ev.Event] | None, error: BaseException | None) -> None:
        if error is not None:
            failed(error)
            return
        if not closes:
            for ack in acks:
                ack.resolve()
        try:  # noqa: SIM105 - suppress() costs three calls more, for every commit
            ref.tell(msg.Committed(events, None, acks if closes else []))
        except pykka.ActorDeadError:
            pass

    def failed(error: BaseException) -> None:
        for ack in acks[len(sent.requests) if sent is not None else 0 :]:
            ack.resolve(error)
        told = msg.Committed(None, error, (), sent)
        try:
            ref.tell(told)
        except pykka.ActorDeadError:  # gone: its requests are not
            Orphans(host, key, generation).pass_on(told)

    return host.recorder.append_then(
        key.workflow_id,
        key.run_id,
        batch,
        expected_seq,
        committed,
        alone=host.dispatcher.idle,
        epoch=epoch,
    )
