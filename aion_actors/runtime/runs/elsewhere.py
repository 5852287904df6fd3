"""Children and requests whose run another engine owns (a node's: see `aion_actors.nodes`).

On a store shared by several nodes, a workflow's child, or the target of its
`ctx` signal or cancel, may fall in a partition another node owns: this one may
not record its events. `Remote` is how such a call reaches that owner — as a
durable request it applies exactly once, and answers. `ChildrenElsewhere`
follows a parent's child held there, record-then-act and idempotent as a local
child is: start it (the owner takes a repeated start of the same run id as
done), confirm it, wait until its run (and its continue-as-new successors) has
closed, then tell the parent as a local child's ending does. A parent replayed
after a crash, here or on the node that took its partition, follows it again;
the parent's ledger records each reply once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from aion_actors.core import AionError, RunKey, WorkflowStatus
from aion_actors.core import events as ev
from aion_actors.runtime import messages as msg
from aion_actors.runtime.lane import Lane
from aion_actors.store import EventStore

log = logging.getLogger("aion_actors.runtime")

#: told the owner's answer: None when done as asked, else the error it answered
Then = Callable[[BaseException | None], None]
#: the parent's side of a child's ending (see `Endings.notify_parent`)
NotifyParent = Callable[[RunKey, WorkflowStatus, dict[str, Any]], None]


class Remote(Protocol):
    """A node's way to the owners of other partitions; every call is recorded (durable)
    before it returns, and `then` is told on another thread when the owner answered."""

    def owns(self, workflow_id: str) -> bool: ...

    def start_child(self, event: ev.ChildStarted, link: dict[str, Any], then: Then) -> None: ...

    def when_closed(
        self, key: RunKey, then: Callable[[], None], parks: bool = False
    ) -> Callable[[], None]:
        """`then()` once run `key` has closed (`parks`: or parked) on its owner; returns
        what withdraws the watch (without blocking), for a caller that stops waiting
        first."""

    def external(self, event: ev.ExternalRequested, request_id: str, then: Then) -> None: ...

    def cancel(self, workflow_id: str, reason: str) -> None: ...

    def hand_on(self, key: RunKey, request: msg.RequestMessage) -> None:
        """Hand `request` (its caller gone, refused here) to its partition's owner: its
        durable request is written in the background, tried until it is (never blocks:
        the thread that resolved the request calls it)."""

    def moved(self, key: RunKey) -> AionError | None:
        """`OwnershipLost` if run `key`'s partition is not this node's (None if it is)."""


class ChildrenElsewhere:
    def __init__(
        self,
        remote: Remote,
        store: EventStore,
        deliver: Callable[[RunKey, object], None],
        notify_parent: NotifyParent,
        *,
        lane: Lane,
    ) -> None:
        self.remote = remote
        self._store = store
        self._deliver = deliver
        self._notify_parent = notify_parent
        self._lane = lane
        #: children held here whose parent is held here: (the child's first run) ->
        #: (parent, its start, link); followed from afar if the child's partition moves away
        self._together: dict[RunKey, tuple[RunKey, ev.ChildStarted, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def owns(self, workflow_id: str) -> bool:
        return self.remote.owns(workflow_id)

    def follow(self, parent: RunKey, event: ev.ChildStarted, link: dict[str, Any]) -> None:
        """Start the child `event` asks for on its owner (unless it exists), then follow it."""
        if self._store.get_run(event.child_workflow_id, event.child_run_id) is not None:
            self._started(parent, event, link, None)
            return

        def then(error: BaseException | None) -> None:
            self._lane.submit(self._started, parent, event, link, error)

        self.remote.start_child(event, link, then)

    def _started(
        self,
        parent: RunKey,
        event: ev.ChildStarted,
        link: dict[str, Any],
        error: BaseException | None,
    ) -> None:
        child = RunKey(event.child_workflow_id, event.child_run_id)
        if error is not None:  # refused (an open run of its id), or its owner failed it
            refused = ev.ChildFailed(
                child_workflow_id=child.workflow_id,
                child_run_id=child.run_id,
                error=ev.error_info(error),
            )
            self._deliver(parent, msg.ChildClosed(refused))
            return
        if event.confirm:  # `ctx.start_child` resumes once the parent records this
            running = ev.ChildRunStarted(
                child_workflow_id=child.workflow_id, child_run_id=child.run_id
            )
            self._deliver(parent, msg.ChildRunning(running))
        self._until_closed(child, link)

    def _until_closed(self, child: RunKey, link: dict[str, Any]) -> None:
        """Tell the parent once `child`'s chain has ended; else wait for its owner's word."""
        run = self._store.get_run(*child)
        if run is None:
            log.error("child %s (run %s) was started but is not in the store", *child)
            return
        if run.status == WorkflowStatus.CONTINUED_AS_NEW:  # its chain decides
            run = self._store.latest_run(child.workflow_id) or run
        if run.status.is_terminal and run.status != WorkflowStatus.CONTINUED_AS_NEW:
            self._notify_parent(RunKey(run.workflow_id, run.run_id), run.status, link)
            return

        def closed() -> None:
            self._lane.submit(self._until_closed, child, link)

        self.remote.when_closed(RunKey(run.workflow_id, run.run_id), closed)

    def together(self, parent: RunKey, event: ev.ChildStarted, link: dict[str, Any]) -> None:
        """The child `event` asks for, of `parent`, both held here, is started (its start
        may not be committed yet): its ending reaches the parent here, unless its
        partition leaves this node first (see `moved`) — or left while it was started
        (the partition is dropped here before `moved` looks, so a child its look missed
        is no longer this node's now: followed from afar at once)."""
        child = RunKey(event.child_workflow_id, event.child_run_id)
        with self._lock:
            self._together[child] = (parent, event, link)
        if self.remote.owns(child.workflow_id):
            return
        with self._lock:
            missed = self._together.pop(child, None) is not None
        if missed and self.remote.owns(parent.workflow_id):
            self._lane.submit(self.follow, parent, event, link)

    def apart(self, child: RunKey) -> None:
        """`child`'s chain has ended here and its parent was told."""
        with self._lock:
            self._together.pop(child, None)

    def moved(self, within: Callable[[str], bool]) -> None:
        """The partitions of the workflow_ids `within` left this node: their children's
        parents held here follow them from afar (their parents moved: nothing to do) —
        through the child's new owner, which starts it unless its start (maybe still in
        flight here when the partition left, maybe refused) was recorded."""
        with self._lock:
            gone = [
                (child, parent, event, link)
                for child, (parent, event, link) in self._together.items()
                if within(child.workflow_id) or within(parent.workflow_id)
            ]
            for child, *_ in gone:
                del self._together[child]
        for _, parent, event, link in gone:
            if not within(parent.workflow_id):
                self._lane.submit(self.follow, parent, event, link)

    def cancel(self, workflow_id: str, reason: str) -> None:
        """A parent-close policy: the child's owner cancels its open run (if any)."""
        try:
            self.remote.cancel(workflow_id, reason)
        except Exception as exc:  # its open run, if any, runs on, as one closed meanwhile
            log.warning("child %r was not asked to cancel: %s", workflow_id, exc)
