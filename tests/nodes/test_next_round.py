"""When a node's lease thread looks again: at the renewal period, or the moment
another node's lease frees (so a dead node's runs move a lease term after its
last renewal, not up to a renewal period later)."""

from aion_actors.nodes.node import _until_next
from aion_actors.store.postgres.nodestore import Lease

S = 1_000_000_000


def test_with_no_other_nodes_lease_the_next_round_is_one_renewal_period_away() -> None:
    leases = [Lease(0, "me", 1, 10 * S), Lease(1, None, 0, None)]
    assert _until_next(3.0, leases, "me", now=0) == 3.0


def test_a_lease_of_another_node_expiring_before_the_renewal_wakes_the_node_just_after() -> None:
    leases = [Lease(0, "me", 1, 10 * S), Lease(1, "dead", 4, 2 * S), Lease(2, "dead", 4, 3 * S)]
    pause = _until_next(3.0, leases, "me", now=1 * S)
    assert 1.0 < pause < 1.5


def test_a_live_nodes_lease_renewed_far_ahead_does_not_shorten_the_round() -> None:
    leases = [Lease(0, "me", 1, 10 * S), Lease(1, "other", 2, 9 * S)]
    assert _until_next(3.0, leases, "me", now=0) == 3.0


def test_an_already_expired_lease_is_claimed_this_round_and_does_not_spin_the_next() -> None:
    leases = [Lease(1, "dead", 4, 1 * S)]
    assert _until_next(3.0, leases, "me", now=2 * S) == 3.0
