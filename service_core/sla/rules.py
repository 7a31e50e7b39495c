"""Escalation rules: whether a rule applies to an order now, and what its actions change. Pure, no I/O.

A rule's condition is one of
- ``sla_share``: the order's clock for ``metric`` has used ``share`` of its target (0.8 = the usual
  warning, 1.0 = the breach) and is not met yet;
- ``no_response_for`` / ``not_resolved_for``: ``hours`` have passed since the order was opened without a
  response / a resolution, counted on the wall clock or (``clock = business``) as the SLA clock's
  business time, pauses excluded.
Its scope (order type, priority, region) narrows the orders it looks at; null is any.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from service_core.sla.clock import Clock
from service_core.sla.models import EscalationRule, OrderFacts

PRIORITIES = ("low", "normal", "high", "urgent")
OPEN_CLOCK_STATES = frozenset({"running", "paused", "warning", "breached"})


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an order stands for the rules: its clocks by metric and when it was responded to / resolved."""

    clocks: Mapping[str, Clock]
    responded_at: datetime | None
    resolved_at: datetime | None


def in_scope(rule: EscalationRule, order: OrderFacts) -> bool:
    """The rule looks at this order (type, current priority and region)."""
    return (
        rule.order_type in (None, order.type)
        and rule.priority in (None, order.priority)
        and rule.region in (None, order.region)
    )


def condition_met(rule: EscalationRule, *, order: OrderFacts, progress: Progress, now: datetime) -> bool:
    """The rule's condition holds for the order as of ``now``."""
    if rule.condition == "sla_share":
        clock = progress.clocks.get(rule.metric)
        return clock is not None and clock.state in OPEN_CLOCK_STATES and clock.share >= rule.share
    metric, done = (
        ("response", progress.responded_at)
        if rule.condition == "no_response_for"
        else ("resolution", progress.resolved_at)
    )
    if done is not None:
        return False
    if rule.clock == "wall":
        return (now - order.created_at).total_seconds() >= rule.hours * 3600
    clock = progress.clocks.get(metric)
    return clock is not None and clock.elapsed_minutes >= rule.hours * 60


def due(rules: list[EscalationRule], *, order: OrderFacts, progress: Progress, now: datetime) -> list[EscalationRule]:
    """The active rules that apply to the order now, in id order (each still fires only once)."""
    return [
        r
        for r in sorted(rules, key=lambda r: r.id)
        if r.active and in_scope(r, order) and condition_met(r, order=order, progress=progress, now=now)
    ]


def raised(priority: str) -> str | None:
    """One step up; None for an urgent order, which cannot go higher."""
    i = PRIORITIES.index(priority)
    return PRIORITIES[i + 1] if i + 1 < len(PRIORITIES) else None
