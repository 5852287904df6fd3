"""Queues: runs that wait for a slot (`concurrency`, `per_key`, priority, dedup_id).

`queue` declares a queue and the enqueue options; `order` keeps one queue's
waiting and running runs and picks the next; `rebuild` reads a queue's open
runs from the store; `service` is the engine's part (`engine.enqueue`).
"""

from aion_actors.queues.queue import EnqueueOptions, Queue, QueueDuplicate

__all__ = ["EnqueueOptions", "Queue", "QueueDuplicate"]
