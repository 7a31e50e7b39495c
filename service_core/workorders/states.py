"""The work-order state machine: pure, no I/O.

new -> assigned -> accepted -> en_route -> on_site -> in_progress -> completed -> closed.
Any open order can be put on hold; held orders resume as assigned (the engineer accepts again) or,
when the engineer was already working on it, straight back to in_progress. Orders not yet being
worked on can be cancelled; work in progress is put on hold first. ``closed`` and ``cancelled`` are final.

The same table lives in ``service.work_order_transitions``, where a trigger refuses any other move.
"""

from __future__ import annotations

from enum import StrEnum

from service_core.errors import InvalidTransition


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLOSED = "closed"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"


S = Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset({S.ASSIGNED, S.ON_HOLD, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.ACCEPTED, S.ON_HOLD, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.EN_ROUTE, S.ON_HOLD, S.CANCELLED}),
    S.EN_ROUTE: frozenset({S.ON_SITE, S.ON_HOLD, S.CANCELLED}),
    S.ON_SITE: frozenset({S.IN_PROGRESS, S.ON_HOLD, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.ON_HOLD}),
    S.ON_HOLD: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.CANCELLED}),
    S.COMPLETED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# While in one of these, a preventive order blocks a second one for the same asset and failure mode
# (the partial unique index ``work_orders_one_open_preventive`` says the same).
OPEN: frozenset[Status] = frozenset(Status) - {S.COMPLETED, S.CLOSED, S.CANCELLED}

# These need an engineer on the order (check ``work_orders_engineer_when_dispatched``).
NEEDS_ENGINEER: frozenset[Status] = frozenset(Status) - {S.NEW, S.ON_HOLD, S.CANCELLED}

# An engineer's current load: orders they hold that are not finished.
LOAD: frozenset[Status] = OPEN - {S.NEW}


def allowed(current: Status | str) -> frozenset[Status]:
    """Where an order in ``current`` may go next."""
    return TRANSITIONS[Status(current)]


def transition(current: Status | str, target: Status | str) -> Status:
    """``target`` when the move is legal, else :class:`InvalidTransition`."""
    current, target = Status(current), Status(target)
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value, {s.value for s in TRANSITIONS[current]})
    return target
