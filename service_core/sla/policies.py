"""Which SLA policy an order falls under, and the policy's calendar as clock arithmetic: pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from service_core.sla.clock import BusinessCalendar, PauseRule, Targets
from service_core.sla.models import Calendar, Holiday, Policy

# The order type says most about what was promised, then the contract, then the priority.
_WEIGHTS = (("order_type", 4), ("contract_level", 2), ("priority", 1))


def specificity(policy: Policy) -> int:
    """How much of an order a policy names: a policy for complaints beats one for premium contracts."""
    return sum(weight for name, weight in _WEIGHTS if getattr(policy, name) is not None)


def select_policy(
    policies: Iterable[Policy], *, contract_level: str | None, order_type: str, priority: str
) -> Policy | None:
    """The most specific policy matching the order; a policy's null field matches anything.

    A null ``contract_level`` is the order of a customer without an active contract: only policies
    naming no level match it. Ties cannot happen: the database allows one policy per match.
    """
    matching = [
        p
        for p in policies
        if p.contract_level in (None, contract_level)
        and p.order_type in (None, order_type)
        and p.priority in (None, priority)
    ]
    return max(matching, key=lambda p: (specificity(p), -p.id), default=None)


def business_calendar(calendar: Calendar, holidays: Sequence[Holiday]) -> BusinessCalendar:
    """The calendar row with its holidays, ready for clock arithmetic."""
    return BusinessCalendar(
        timezone=calendar.timezone,
        hours={h["weekday"]: (h["opens_min"], h["closes_min"]) for h in calendar.hours},
        holidays=frozenset(h.day for h in holidays if h.calendar_id == calendar.id),
    )


def targets(policy: Policy) -> Targets:
    return Targets(policy.response_minutes, policy.arrival_minutes, policy.resolution_minutes)


def pause_rule(policy: Policy) -> PauseRule:
    return PauseRule(statuses=frozenset(policy.pause_statuses), hold_reasons=frozenset(policy.pause_hold_reasons))
