"""Every use of Pykka's private API, in this one module.

Pykka (4.x) has no links, monitors or supervisors, and runs each actor on a thread of
its own. The package adds both through hooks Pykka keeps for "implementors of new
actor types", which are private names and may change in any release. So each use is
here, marked ``# noqa: SLF001`` where it touches a private name, and each is checked by
``tests/supervisor/test_sup_pykka_hooks.py`` against the behaviour this module assumes:
a Pykka upgrade that changes one fails there, loudly, not in a supervisor at run time.

What the package assumes of Pykka, and where:

* ``Actor.start`` is "construct, ``ActorRegistry.register(ref)``,
  ``actor._start_actor_loop()``"; a supervisor starts its children the same way
  (`start`), with a watch installed between construction and start.
* ``ThreadingActor._start_actor_loop`` runs ``self._actor_loop`` (looked up on the
  instance) in a new thread; ``_actor_loop`` runs ``_actor_loop_setup`` (which calls
  ``self.on_start`` and sends an ``Exception`` to ``_handle_failure``), the message
  loop and ``_actor_loop_teardown``. ``_handle_failure`` is the one funnel of every
  unhandled exception: in ``on_start``, in a ``tell``-ed message, in ``on_stop`` or
  ``on_failure``. So wrapping ``on_start``, ``_handle_failure`` and ``_actor_loop`` on
  one instance (`ThreadHooks`, `shadow`) observes a thread actor's start, crash and
  exit without its cooperation.
* ``_handle_receive`` handles Pykka's own messages (stop, proxy calls) and passes the
  rest to ``on_receive``; ``_stop`` stops at once (unregister, set ``actor_stopped``,
  ``on_stop``); ``_actor_loop_teardown`` answers the asks still queued with
  `pykka.ActorDeadError`. A `PooledActor` runs its messages with these (`run_message`,
  `teardown`) instead of Pykka's loop.
* An `pykka.ActorRef` copies the actor's ``actor_stopped``, ``actor_inbox`` and
  ``actor_urn`` when it is built; ``Actor.actor_ref`` returns ``Actor._actor_ref``;
  ``ActorRef.is_alive`` reads ``actor_stopped``; ``ActorRef.ask`` makes its future
  with ``actor_class._create_future()``. A `PooledActor` sets these fields itself
  (`init_actor`), and setting ``actor_stopped`` (`mark_stopped`) makes every ref of
  the actor dead at once.
* An inbox holds ``Envelope(message, reply_to)``s (`envelope`, `message_of`).

`PooledActor` also *overrides* private hooks, which must be methods of its class:
``_create_actor_inbox``, ``_create_future`` and ``_start_actor_loop`` (abstract in
`pykka.Actor`: every actor class defines them) and ``_handle_failure`` (to observe its
failures). They are in ``supervisor/pooled.py``, each marked, and tested here too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka
from pykka._envelope import Envelope

__all__ = [
    "Envelope",
    "ThreadHooks",
    "default_handle_failure",
    "envelope",
    "handle_failure",
    "init_actor",
    "mark_stopped",
    "message_of",
    "run_message",
    "shadow",
    "start",
    "stop_now",
    "teardown",
    "thread_hooks",
    "unshadow",
]

#: the private names a thread actor's watch wraps on the instance
SHADOWED = ("on_start", "_handle_failure", "_actor_loop")

ExcInfo = tuple[type[BaseException] | None, BaseException | None, Any]

for _name in (
    "_create_actor_inbox",
    "_create_future",
    "_start_actor_loop",
    "_actor_loop",
    "_actor_loop_setup",
    "_actor_loop_teardown",
    "_handle_failure",
    "_handle_receive",
    "_stop",
):
    if not hasattr(pykka.ThreadingActor, _name):  # pragma: no cover - depends on pykka
        raise ImportError(
            f"supervisor needs pykka.ThreadingActor.{_name}, which this pykka version lacks; "
            "install pykka 4.x"
        )


# -- starting and stopping -------------------------------------------------------


def start(actor: pykka.Actor) -> None:
    """What ``Actor.start`` does once the actor is built: register it, start its loop."""
    pykka.ActorRegistry.register(actor.actor_ref)
    actor._start_actor_loop()  # noqa: SLF001


def mark_stopped(ref: pykka.ActorRef[Any]) -> None:
    """Make the actor dead to every ref at once, as Pykka's ``_stop`` does, without
    waiting for its thread: unregister it and set its ``actor_stopped``."""
    pykka.ActorRegistry.unregister(ref)
    ref.actor_stopped.set()


def stop_now(actor: pykka.Actor) -> None:
    """Stop from inside the actor, without handling the rest of its inbox (``_stop``)."""
    actor._stop()  # noqa: SLF001


# -- watching a thread actor -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThreadHooks:
    """What a thread actor runs at its start, on a failure and as its thread's target."""

    on_start: Callable[[], None]
    handle_failure: Callable[..., None]
    actor_loop: Callable[[], None]


def thread_hooks(actor: pykka.ThreadingActor) -> ThreadHooks:
    """The actor's own hooks (bound methods), to be wrapped."""
    return ThreadHooks(
        actor.on_start,
        actor._handle_failure,  # noqa: SLF001
        actor._actor_loop,  # noqa: SLF001
    )


def shadow(actor: pykka.ThreadingActor, hooks: ThreadHooks) -> None:
    """Install ``hooks`` on this one instance (never its class); before it starts."""
    vars(actor).update(
        zip(SHADOWED, (hooks.on_start, hooks.handle_failure, hooks.actor_loop), strict=True)
    )


def unshadow(actor: pykka.ThreadingActor) -> None:
    """Remove what `shadow` installed: the actor no longer holds the wrappers."""
    for name in SHADOWED:
        actor.__dict__.pop(name, None)


# -- an actor without a thread of its own --------------------------------------------


def init_actor(actor: pykka.Actor, urn: str, inbox: Any, stopped: Any) -> None:
    """Set the fields ``Actor.__init__`` sets, with our urn, inbox and stop flag.

    The ref is built last: it copies the inbox and the stop flag.
    """
    actor.actor_urn = urn
    actor.actor_inbox = inbox
    actor.actor_stopped = stopped
    actor._actor_ref = pykka.ActorRef(actor)  # noqa: SLF001


def handle_failure(actor: pykka.Actor, exc_info: ExcInfo) -> None:
    """Send a failure down the actor's funnel (its own ``_handle_failure``, overrides included)."""
    actor._handle_failure(*exc_info)  # noqa: SLF001


def default_handle_failure(actor: pykka.Actor, exc_info: ExcInfo) -> None:
    """Pykka's own ``_handle_failure``: log, unregister, set ``actor_stopped``."""
    pykka.Actor._handle_failure(actor, *exc_info)  # noqa: SLF001


#: what Pykka's own ``_handle_receive`` handles itself; it hands the rest to ``on_receive``
PYKKA_MESSAGES = (
    pykka.messages._ActorStop,  # noqa: SLF001 - Pykka's stop message
    pykka.messages.ProxyCall,
    pykka.messages.ProxyGetAttr,
    pykka.messages.ProxySetAttr,
)
_HANDLE_RECEIVE = pykka.Actor._handle_receive  # noqa: SLF001 - Pykka's own, to compare


def run_message(actor: pykka.Actor, item: Envelope[Any]) -> None:
    """One message, with the error handling of Pykka's thread loop, but for one rule:
    a ``BaseException`` fails this actor only (Pykka's loop would stop every actor).
    A message of none of Pykka's kinds goes straight to ``on_receive``, as Pykka's own
    ``_handle_receive`` would send it (unless the class has its own)."""
    try:
        message = item.message
        if (
            type(actor)._handle_receive is _HANDLE_RECEIVE  # noqa: SLF001 - see above
            and not isinstance(message, PYKKA_MESSAGES)
        ):
            response = actor.on_receive(message)
        else:
            response = actor._handle_receive(message)  # noqa: SLF001
        if item.reply_to is not None:
            item.reply_to.set(response)
    except Exception:
        if item.reply_to is not None:
            item.reply_to.set_exception()
        else:
            handle_failure(actor, sys.exc_info())
            try:
                actor.on_failure(*sys.exc_info())
            except Exception:
                handle_failure(actor, sys.exc_info())
    except BaseException:
        handle_failure(actor, sys.exc_info())


def teardown(actor: pykka.Actor) -> None:
    """After the last message: answer the asks still queued (``_actor_loop_teardown``)."""
    actor._actor_loop_teardown()  # noqa: SLF001


# -- envelopes -------------------------------------------------------------------------


def envelope(message: Any, reply_to: pykka.Future[Any] | None = None) -> Envelope[Any]:
    """What ``tell`` (``reply_to=None``) or ``ask`` puts in an inbox."""
    return Envelope(message, reply_to)


def message_of(item: Envelope[Any]) -> Any:
    return item.message


def refuse(item: Envelope[Any], error: BaseException) -> bool:
    """Answer an ``ask`` with ``error``; False (nothing done) for a ``tell``."""
    if item.reply_to is None:
        return False
    item.reply_to.set_exception(exc_info=(type(error), error, None))
    return True
