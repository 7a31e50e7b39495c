"""An order's SLA, and the escalation job: clocks -> warnings and breaches -> rules -> actions.

Everything runs in the caller's transaction. What must happen once (a clock's warning, a rule's firing
for an order) is claimed by an ``insert ... on conflict do nothing`` on a unique key, so evaluators
running at the same moment in other transactions or processes never do it twice.

History as the clocks read it: every order event leaves the order in its ``to_status``; a hold's reason
is the ``hold_reason`` in the details of the event that put the order on hold, and for the hold the order
is in now, the order's own ``hold_reason``; a visit's ``checked_in`` event counts from the check-in time
in its details (``at``), which the engineer's app may report late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection

from service_core.notifications import service as notifications_service
from service_core.sla import policies, rules, service
from service_core.sla.clock import ARRIVAL_EVENT, BusinessCalendar, Clock, Step, clocks, first_met
from service_core.sla.models import EscalationRule, OrderFacts, Policy
from service_core.workorders import service as workorders_service
from service_core.workorders.models import WorkOrderEvent
from service_core.workorders.schemas import WorkOrderUpdate

ACTOR = "sla"


def supervisor_topic(supervisor_id: int) -> str:
    """Where a supervisor's escalations are published."""
    return f"fleetcare/supervisors/{supervisor_id}/escalations"


@dataclass(frozen=True, slots=True)
class Setup:
    """The policies and their calendars, read once per evaluation."""

    policies: Sequence[Policy]
    calendars: dict[int, BusinessCalendar]


@dataclass(frozen=True, slots=True)
class OrderSla:
    order: OrderFacts
    policy: Policy | None
    clocks: list[Clock]
    progress: rules.Progress

    @property
    def at_risk(self) -> list[Clock]:
        return [c for c in self.clocks if c.at_risk]

    @property
    def next_due_at(self) -> datetime | None:
        return min((c.due_at for c in self.at_risk if c.due_at is not None), default=None)


@dataclass(frozen=True, slots=True)
class Evaluation:
    orders: int = 0
    warnings: int = 0
    breaches: int = 0
    firings: int = 0


async def load_setup(conn: AsyncConnection) -> Setup:
    """Every policy, and every calendar with its holidays."""
    holidays = await service.get_holidays(conn)
    calendars = {c.id: policies.business_calendar(c, holidays) for c in await service.get_calendars(conn)}
    return Setup(policies=await service.get_policies(conn), calendars=calendars)


def steps_of(order: OrderFacts, events: Sequence[WorkOrderEvent]) -> list[Step]:
    """The order's history as clock steps (see the module docstring for hold reasons)."""
    steps: list[Step] = []
    for event in events:
        reason = (event.details or {}).get("hold_reason") if event.to_status == "on_hold" else None
        if reason is None and event.to_status == "on_hold" and steps and steps[-1].status == "on_hold":
            reason = steps[-1].hold_reason  # a later event during the same hold keeps its reason
        steps.append(Step(at=_when(event, steps), status=event.to_status, kind=event.kind, hold_reason=reason))
    if order.status == "on_hold" and order.hold_reason is not None:
        for i in range(len(steps) - 1, -1, -1):
            if steps[i].status != "on_hold":
                break
            if steps[i].hold_reason is None:
                s = steps[i]
                steps[i] = Step(at=s.at, status=s.status, kind=s.kind, hold_reason=order.hold_reason)
    return steps


def _when(event: WorkOrderEvent, earlier: Sequence[Step]) -> datetime:
    """When it happened: a visit's check-in may be recorded after the engineer arrived (its details say when),
    though never before the step that came before it."""
    arrived = (event.details or {}).get("at") if event.kind == ARRIVAL_EVENT else None
    if not isinstance(arrived, str):
        return event.at
    try:
        at = min(event.at, datetime.fromisoformat(arrived))
    except (TypeError, ValueError):
        return event.at
    return max(at, earlier[-1].at) if earlier else at


def sla_of(order: OrderFacts, events: Sequence[WorkOrderEvent], setup: Setup, *, now: datetime) -> OrderSla:
    """The order's policy (by its current priority) and clocks as of ``now``."""
    steps = steps_of(order, events)
    progress_times = {"responded_at": first_met(steps, "response"), "resolved_at": first_met(steps, "resolution")}
    policy = policies.select_policy(
        setup.policies, contract_level=order.contract_level, order_type=order.type, priority=order.priority
    )
    if policy is None:
        return OrderSla(order, None, [], rules.Progress(clocks={}, **progress_times))
    order_clocks = clocks(
        created_at=order.created_at,
        steps=steps,
        calendar=setup.calendars[policy.calendar_id],
        targets=policies.targets(policy),
        pause=policies.pause_rule(policy),
        warn_at_share=policy.warn_at_share,
        now=now,
    )
    return OrderSla(order, policy, order_clocks, rules.Progress(clocks={c.metric: c for c in order_clocks},
                                                                **progress_times))


async def order_sla(conn: AsyncConnection, *, work_order_id: int, now: datetime) -> OrderSla:
    """One order's SLA as of ``now``, or NotFound."""
    await workorders_service.get(conn, work_order_id=work_order_id)
    (order,) = await service.get_order_facts(conn, work_order_id=work_order_id)
    events = await service.get_events_of(conn, work_order_ids=[order.id])
    return sla_of(order, events[order.id], await load_setup(conn), now=now)


async def open_orders_sla(conn: AsyncConnection, *, now: datetime, **filters) -> list[OrderSla]:
    """The SLA of every open order matching the filters (region, site_id, engineer_id, priority), by id."""
    return await _slas(conn, await service.get_order_facts(conn, open_only=True, **filters), now=now)


async def orders_sla(conn: AsyncConnection, *, work_order_ids: list[int], now: datetime) -> list[OrderSla]:
    """The SLA of each of these orders as of ``now``, by id (the KPIs' compliance figures)."""
    return await _slas(conn, await service.get_order_facts(conn, work_order_ids=work_order_ids), now=now)


async def _slas(conn: AsyncConnection, orders: Sequence[OrderFacts], *, now: datetime) -> list[OrderSla]:
    events = await service.get_events_of(conn, work_order_ids=[o.id for o in orders])
    setup = await load_setup(conn)
    return [sla_of(o, events[o.id], setup, now=now) for o in orders]


async def at_risk(conn: AsyncConnection, *, now: datetime, **filters) -> list[OrderSla]:
    """Open orders with a clock in warning or breached, the soonest due first."""
    risky = [s for s in await open_orders_sla(conn, now=now, **filters) if s.at_risk]
    return sorted(risky, key=lambda s: (s.next_due_at is None, s.next_due_at or now, s.order.id))


async def evaluate(conn: AsyncConnection, *, now: datetime) -> Evaluation:
    """Record new warnings and breaches of every open order and apply the escalation rules that are due."""
    active_rules = await service.get_rules(conn, active=True)
    warnings = breaches = firings = 0
    slas = await open_orders_sla(conn, now=now)
    for sla in slas:
        order = sla.order
        for clock in sla.at_risk:
            for level in ("warning", "breached") if clock.state == "breached" else ("warning",):
                if await service.mark_crossing(conn, work_order_id=order.id, metric=clock.metric, level=level):
                    await _record(conn, order, kind=f"sla_{level}", note=_crossing_note(clock, level),
                                  details=_clock_details(sla, clock))
                    warnings += level == "warning"
                    breaches += level == "breached"
        for rule in rules.due(active_rules, order=order, progress=sla.progress, now=now):
            claimed = await service.fire(
                conn, rule_id=rule.id, work_order_id=order.id,
                details={"rule": rule.name, "action": rule.action, "at": now},
            )
            if claimed:
                firings += 1
                await _act(conn, rule, sla)
    return Evaluation(orders=len(slas), warnings=warnings, breaches=breaches, firings=firings)


async def _act(conn: AsyncConnection, rule: EscalationRule, sla: OrderSla) -> None:
    order = await workorders_service.get(conn, work_order_id=sla.order.id)
    details: dict = {"rule_id": rule.id, "rule": rule.name, "action": rule.action}
    note = f"escalation rule {rule.name!r}"
    if rule.action == "raise_priority":
        higher = rules.raised(order.priority)
        if higher is None:
            note += ": already urgent"
        else:
            await workorders_service.update(
                conn, work_order_id=order.id, work_order_in=WorkOrderUpdate(priority=higher, actor=ACTOR, note=note)
            )
            details["priority"] = {"before": order.priority, "after": higher}
            order = await workorders_service.get(conn, work_order_id=order.id)
    elif rule.action == "escalate_line":
        if await service.escalate_line(conn, work_order_id=order.id, actor=ACTOR):
            details["support_line"] = {"before": order.support_line, "after": 2}
        else:
            note += ": already at second-line support"
        details["notified"] = await _notify(conn, rule, sla, support_line=2)
    else:
        details["notified"] = await _notify(conn, rule, sla, support_line=order.support_line)
    if details.get("notified") == []:
        note += f": no active supervisor for region {sla.order.region!r}"
    await _record(conn, sla.order, kind="escalated", status=order.status, note=note, details=details)


async def _notify(conn: AsyncConnection, rule: EscalationRule, sla: OrderSla, *, support_line: int) -> list[int]:
    """Queue the escalation for the active supervisors of the order's region and support line."""
    supervisors = await service.get_supervisors(
        conn, region=sla.order.region, support_line=support_line, active=True
    )
    payload = {
        "work_order_id": sla.order.id,
        "title": sla.order.title,
        "type": sla.order.type,
        "status": sla.order.status,
        "priority": sla.order.priority,
        "region": sla.order.region,
        "site_id": sla.order.site_id,
        "engineer_id": sla.order.engineer_id,
        "support_line": support_line,
        "rule": {"id": rule.id, "name": rule.name, "condition": rule.condition, "action": rule.action},
        "policy": sla.policy.name if sla.policy else None,
        "clocks": [_clock_payload(c) for c in sla.clocks],
    }
    for supervisor in supervisors:
        await notifications_service.enqueue(
            conn, topic=supervisor_topic(supervisor.id), payload=payload | {"supervisor_id": supervisor.id}
        )
    return [s.id for s in supervisors]


async def _record(
    conn: AsyncConnection, order: OrderFacts, *, kind: str, note: str, details: dict, status: str | None = None
) -> None:
    status = status or order.status
    await workorders_service.record_event(
        conn, work_order_id=order.id, actor=ACTOR, kind=kind, from_status=status, to_status=status,
        engineer_id=order.engineer_id, note=note, details=details,
    )


def _clock_payload(clock: Clock) -> dict:
    return {
        "metric": clock.metric,
        "state": clock.state,
        "target_minutes": clock.target_minutes,
        "elapsed_minutes": clock.elapsed_minutes,
        "share": clock.share,
        "due_at": clock.due_at.isoformat() if clock.due_at else None,
    }


def _clock_details(sla: OrderSla, clock: Clock) -> dict:
    return _clock_payload(clock) | {"policy_id": sla.policy.id if sla.policy else None}


def _crossing_note(clock: Clock, level: str) -> str:
    what = "breached" if level == "breached" else f"at {clock.share:.0%} of"
    return f"{clock.metric} {what} its {clock.target_minutes} min target"
