"""The work-order state machine: pure, no I/O.

new -> assigned -> accepted -> en_route -> on_site -> in_progress -> completed -> closed.
An engineer who checks in without having said they were on their way goes from accepted to on_site.
Any open order can be put on hold, always with a reason (``HOLD_REASONS``); held orders resume as
assigned (the engineer accepts again) or, when the engineer was already working on it, straight back to
in_progress. Orders not yet being worked on can be cancelled; work in progress is put on hold first.
``cancelled`` is final; ``completed`` and ``closed`` are final for ordinary moves, but a reopen
(``REOPEN``, its own request with a reason) brings them back to assigned, for the same engineer,
within ``REOPEN_WINDOW`` of the completion. After that a new order is opened instead.

The same table lives in ``service.work_order_transitions`` (kind ``move`` or ``reopen``), where a
trigger refuses any other move and a reopen outside the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from service_core.errors import Conflict, InvalidTransition


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
    S.ACCEPTED: frozenset({S.EN_ROUTE, S.ON_SITE, S.ON_HOLD, S.CANCELLED}),
    S.EN_ROUTE: frozenset({S.ON_SITE, S.ON_HOLD, S.CANCELLED}),
    S.ON_SITE: frozenset({S.IN_PROGRESS, S.ON_HOLD, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.ON_HOLD}),
    S.ON_HOLD: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.CANCELLED}),
    S.COMPLETED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Reopening a finished order: not an ordinary move (POST /work-orders/{id}/reopen only), and only within
# REOPEN_WINDOW of its completion (``service.reopen_window()`` in the database says the same).
REOPEN: dict[Status, frozenset[Status]] = {S.COMPLETED: frozenset({S.ASSIGNED}), S.CLOSED: frozenset({S.ASSIGNED})}
REOPEN_WINDOW = timedelta(days=7)

# Why an order waits (check ``work_orders_hold_reason``: on_hold exactly when a reason is set).
HOLD_REASONS: frozenset[str] = frozenset({"waiting_parts", "waiting_customer", "waiting_approval", "other"})

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


def reopen(current: Status | str, *, completed_at: datetime | None, now: datetime) -> Status:
    """Where a reopened order goes (assigned), or :class:`Conflict` / :class:`ReopenWindowPassed`."""
    current = Status(current)
    if current not in REOPEN:
        raise Conflict(f"only a completed or closed work order can be reopened; this one is {current.value!r}")
    if completed_at is None or now - completed_at > REOPEN_WINDOW:
        raise ReopenWindowPassed(completed_at)
    (target,) = REOPEN[current]
    return target


class ReopenWindowPassed(Conflict):
    """The order was finished too long ago to reopen: the customer gets a new order."""

    def __init__(self, completed_at: datetime | None) -> None:
        when = f"it was completed at {completed_at.isoformat()}" if completed_at else "its completion is not recorded"
        super().__init__(
            f"the reopen window of {REOPEN_WINDOW.days} days has passed ({when}): open a new work order instead"
        )
        self.completed_at = completed_at
