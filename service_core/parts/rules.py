"""The life of a stock transfer, as pure rules (the database enforces the same moves)."""

from __future__ import annotations

from service_core.errors import Conflict

TRANSFER_MOVES: dict[str, frozenset[str]] = {
    "requested": frozenset({"approved", "rejected", "cancelled"}),
    "approved": frozenset({"in_transit", "cancelled"}),
    "in_transit": frozenset({"received"}),
    "rejected": frozenset(),
    "received": frozenset(),
    "cancelled": frozenset(),
}

# what each action does to the transfer's status
ACTIONS = {"approve": "approved", "reject": "rejected", "ship": "in_transit", "receive": "received",
           "cancel": "cancelled"}


def check_move(transfer_id: int, current: str, action: str) -> str:
    """The status ``action`` leads to, or a Conflict naming the actions the transfer still allows.

    >>> check_move(1, "requested", "approve")
    'approved'
    >>> check_move(1, "requested", "ship")
    Traceback (most recent call last):
    ...
    service_core.errors.Conflict: cannot ship transfer 1: it is 'requested'; allowed: approve, cancel, reject
    """
    target = ACTIONS[action]
    if target not in TRANSFER_MOVES[current]:
        allowed = sorted(a for a, t in ACTIONS.items() if t in TRANSFER_MOVES[current])
        raise Conflict(
            f"cannot {action} transfer {transfer_id}: it is {current!r}; allowed: {', '.join(allowed) or 'none'}"
        )
    return target


def check_approver(transfer_id: int, requested_by: str, approver: str) -> None:
    """Someone other than the requester approves (four eyes).

    >>> check_approver(1, "ana", "ana")
    Traceback (most recent call last):
    ...
    service_core.errors.Conflict: transfer 1 was requested by 'ana': someone else must approve it
    """
    if approver.strip().casefold() == requested_by.strip().casefold():
        raise Conflict(f"transfer {transfer_id} was requested by {requested_by!r}: someone else must approve it")
