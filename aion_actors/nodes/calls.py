"""What one node asks of another's run, and what it is answered: msgpack maps with
explicit field names and a schema version (`v`), stored in the `requests` and
`answers` rows (see `aion_actors.store.postgres._requests`). Never pickles.

An error crosses as its class name, its message and its plain attributes; the
requester raises the same `aion_actors` error class (with those attributes), or
an `AionError` with the message when the class is not one of ours.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import aion_actors.core as core
import aion_actors.queues.queue as queue
from aion_actors.core import AionError, CorruptEvent, RunKey, packb, unpackb
from aion_actors.core import events as ev
from aion_actors.store.postgres._requests import PREFIX

if TYPE_CHECKING:
    from aion_actors.runtime.runs import NewRun

#: the version of the request and answer maps
CALL_VERSION: Final = 1
#: what a request asks
#: (`watch`: answer once run `run_id` has closed — or parked, with option `parks`; its
#: row stays until then;
#: `enqueue`: to a queue's home node, see `aion_actors.nodes.queues`; `dequeue`: a slot of
#: queue `name` for run `run_id`, from its queue's home node; `child`, `external`: a
#: workflow's child start, or its `ctx` signal or cancel, the command's event as `payload`,
#: encoded as in a history)
KINDS: Final = (
    *("start", "signal", "cancel", "terminate", "resume", "signal_start", "watch", "query"),
    *("enqueue", "dequeue"),
    *("child", "external", "pause", "unpause", "reset", "update"),
)
#: the kinds whose `payload` is sent
_WITH_PAYLOAD: Final = ("signal", "signal_start", "child", "external", "update")


def new_request_id() -> str:
    return f"{PREFIX}{uuid.uuid4().hex}"


def home_key(queue: str) -> str:
    """What places queue `queue` in a partition: its home, whose owner gives its slots."""
    return f"queue:{queue}"


def queued_fields(after: Sequence[ev.Event]) -> dict[str, Any] | None:
    """A start's queue events (`NewRun.after`) as a request's `queued` map; None if none."""
    queued = next((e for e in after if isinstance(e, ev.WorkflowQueued)), None)
    if queued is None:
        return None
    fields = {"queue": queued.queue, "key": queued.key, "priority": queued.priority}
    fields["dedup_id"] = queued.dedup_id
    fields["dequeued"] = any(isinstance(e, ev.RunDequeued) for e in after)
    return fields


def queued_events(fields: dict[str, Any] | None) -> tuple[ev.Event, ...]:
    """The events a request's `queued` map stands for (none without one)."""
    if not fields:
        return ()
    queued = ev.WorkflowQueued(
        queue=str(fields["queue"]),
        key=fields.get("key"),
        priority=int(fields.get("priority") or 0),
        dedup_id=fields.get("dedup_id"),
    )
    return (queued, ev.RunDequeued()) if fields.get("dequeued") else (queued,)


@dataclass(frozen=True, slots=True)
class NodeCall:
    """One call made on a node that does not own the run: what the owner applies."""

    kind: str
    workflow_id: str
    #: start: the workflow type, its encoded arguments (query: its arguments), the run id
    #: the caller chose and the start options (timeouts, memo, policies)
    workflow_type: str | None = None
    args: list[Any] = field(default_factory=list)
    run_id: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: signal: its name and payload (query: its name); cancel, terminate: the reason
    name: str | None = None
    payload: Any = None
    reason: str = ""
    #: seconds the owner may wait for the run to record it
    timeout: float | None = None
    #: start: the queue that holds the run (`WorkflowQueued` fields, and `dequeued`: a
    #: slot given at once), recorded in its first commit
    queued: dict[str, Any] | None = None

    @classmethod
    def for_run(
        cls, kind: str, workflow_type: str, run: NewRun, options: dict[str, Any], **more: Any
    ) -> NodeCall:
        """A call that records the new run `run` of `workflow_type` on its owner."""
        return cls(
            kind,
            run.workflow_id,
            workflow_type=workflow_type,
            args=list(run.args),
            run_id=run.run_id,
            options=options,
            **more,
        )

    @classmethod
    def watch(cls, key: RunKey, *, parks: bool = False) -> NodeCall:
        """Answer once run `key` has closed (`parks`: or parked) on its owner."""
        return cls(
            "watch", key.workflow_id, run_id=key.run_id, options={"parks": True} if parks else {}
        )

    def encode(self) -> bytes:
        record: dict[str, Any] = {"v": CALL_VERSION, "kind": self.kind, "wid": self.workflow_id}
        for key, value in (
            ("type", self.workflow_type),
            ("args", self.args or None),
            ("run_id", self.run_id),
            ("options", self.options or None),
            ("name", self.name),
            ("reason", self.reason or None),
            ("timeout", self.timeout),
            ("queued", self.queued),
        ):
            if value is not None:
                record[key] = value
        if self.kind in _WITH_PAYLOAD:
            record["payload"] = self.payload
        return packb(record)

    @classmethod
    def decode(cls, data: bytes) -> NodeCall:
        record = _record(data, "request")
        kind = record.get("kind")
        if kind not in KINDS or not isinstance(record.get("wid"), str):
            raise CorruptEvent(f"a node request asks {kind!r} of {record.get('wid')!r}")
        return cls(
            kind=kind,
            workflow_id=record["wid"],
            workflow_type=record.get("type"),
            args=list(record.get("args") or []),
            run_id=record.get("run_id"),
            options=dict(record.get("options") or {}),
            name=record.get("name"),
            payload=record.get("payload"),
            reason=record.get("reason") or "",
            timeout=record.get("timeout"),
            queued=record.get("queued"),
        )


@dataclass(frozen=True, slots=True)
class NodeAnswer:
    """How the owner applied a call: done (the run it concerned, for starts), or the
    error the same call raises on the owner."""

    run_id: str | None = None
    error: dict[str, Any] | None = None
    #: a query's answer
    value: Any = None

    def encode(self) -> bytes:
        record: dict[str, Any] = {"v": CALL_VERSION}
        if self.run_id is not None:
            record["run_id"] = self.run_id
        if self.error is not None:
            record["error"] = self.error
        if self.value is not None:
            record["value"] = self.value
        return packb(record)

    @classmethod
    def decode(cls, data: bytes) -> NodeAnswer:
        record = _record(data, "answer")
        return cls(record.get("run_id"), record.get("error"), record.get("value"))

    @classmethod
    def failed(cls, exc: BaseException) -> NodeAnswer:
        fields = {
            k: v
            for k, v in vars(exc).items()
            if not k.startswith("_") and (v is None or isinstance(v, str | int | float | bool))
        }
        return cls(error={"type": type(exc).__name__, "message": str(exc), "fields": fields})

    def raise_error(self) -> None:
        """Raise the error the owner answered, if any."""
        if self.error is None:
            return
        raise rebuilt(self.error)


def rebuilt(error: dict[str, Any]) -> AionError:
    """The `aion_actors` error an answer names, with its message and plain attributes."""
    message = str(error.get("message", ""))
    cls = getattr(core, str(error.get("type")), None) or getattr(
        queue, str(error.get("type")), None
    )
    if not (isinstance(cls, type) and issubclass(cls, AionError)):
        return AionError(f"{error.get('type')}: {message}")
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    for key, value in dict(error.get("fields") or {}).items():
        setattr(exc, str(key), value)
    return exc


def _record(data: bytes, what: str) -> dict[str, Any]:
    try:
        record = unpackb(data)
    except Exception as exc:
        raise CorruptEvent(f"a node {what} is damaged ({exc})") from None
    if not isinstance(record, dict) or record.get("v") != CALL_VERSION:
        version = record.get("v") if isinstance(record, dict) else None
        raise CorruptEvent(
            f"a node {what} has schema {version!r}, this engine reads {CALL_VERSION}: "
            "run the same aion-actors version on every node"
        )
    return record
