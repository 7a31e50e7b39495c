"""Routes for calendars, holidays, policies, supervisors, escalation rules, an order's SLA and the at-risk list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from service_core.deps import ConnDep
from service_core.sla import flows, service
from service_core.sla.schemas import (
    AtRiskRead,
    CalendarCreate,
    CalendarRead,
    CalendarUpdate,
    ClockRead,
    EscalationRuleCreate,
    EscalationRuleRead,
    EscalationRuleUpdate,
    EvaluationRead,
    FiringRead,
    HolidayCreate,
    HolidayRead,
    OrderSlaRead,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
    SupervisorCreate,
    SupervisorRead,
    SupervisorUpdate,
)
from service_core.workorders.schemas import Actor, Priority

router = APIRouter(tags=["sla"])

ActorQuery = Annotated[Actor, Query(description="Who does this")]
NO_CONTENT = status.HTTP_204_NO_CONTENT


def _sla_read(sla: flows.OrderSla) -> dict:
    order, policy = sla.order, sla.policy
    return {
        "work_order_id": order.id,
        "status": order.status,
        "priority": order.priority,
        "contract_level": order.contract_level,
        "policy": policy,
        "clocks": [ClockRead.model_validate(c) for c in sla.clocks],
    }


@router.get("/work-orders/{work_order_id}/sla", response_model=OrderSlaRead)
async def get_work_order_sla(conn: ConnDep, work_order_id: int):
    """The order's response, arrival and resolution clocks under its current policy."""
    return _sla_read(await flows.order_sla(conn, work_order_id=work_order_id, now=datetime.now(UTC)))


@router.get("/sla/at-risk", response_model=list[AtRiskRead])
async def list_at_risk(
    conn: ConnDep,
    region: str | None = None,
    site_id: int | None = None,
    engineer_id: int | None = None,
    priority: Priority | None = None,
):
    """Open orders with a clock in warning or breached, the soonest due first."""
    risky = await flows.at_risk(
        conn, now=datetime.now(UTC), region=region, site_id=site_id, engineer_id=engineer_id, priority=priority
    )
    return [
        _sla_read(s)
        | {
            "title": s.order.title,
            "type": s.order.type,
            "site_id": s.order.site_id,
            "region": s.order.region,
            "engineer_id": s.order.engineer_id,
            "support_line": s.order.support_line,
            "next_due_at": s.next_due_at,
        }
        for s in risky
    ]


@router.post("/sla/evaluate", response_model=EvaluationRead)
async def evaluate_now(conn: ConnDep):
    """Run the escalation job now (it also runs every 30 s): warnings, breaches and rules that are due."""
    return await flows.evaluate(conn, now=datetime.now(UTC))


@router.get("/sla/firings", response_model=list[FiringRead])
async def list_firings(conn: ConnDep, work_order_id: int | None = None, rule_id: int | None = None):
    """What the escalation rules fired, oldest first."""
    return await service.get_firings(conn, work_order_id=work_order_id, rule_id=rule_id)


# calendars and holidays


@router.get("/sla/calendars", response_model=list[CalendarRead])
async def list_calendars(conn: ConnDep):
    return await service.get_calendars(conn)


@router.post("/sla/calendars", response_model=CalendarRead, status_code=status.HTTP_201_CREATED)
async def create_calendar(conn: ConnDep, calendar_in: CalendarCreate):
    """A business calendar: time zone and working hours per ISO weekday (end may be 24:00)."""
    return await service.create_calendar(conn, calendar_in=calendar_in)


@router.get("/sla/calendars/{calendar_id}", response_model=CalendarRead)
async def get_calendar(conn: ConnDep, calendar_id: int):
    return await service.get_calendar(conn, calendar_id=calendar_id)


@router.patch("/sla/calendars/{calendar_id}", response_model=CalendarRead)
async def update_calendar(conn: ConnDep, calendar_id: int, calendar_in: CalendarUpdate):
    return await service.update_calendar(conn, calendar_id=calendar_id, calendar_in=calendar_in)


@router.delete("/sla/calendars/{calendar_id}", status_code=NO_CONTENT)
async def delete_calendar(conn: ConnDep, calendar_id: int, actor: ActorQuery):
    """Remove a calendar no policy uses (409 otherwise)."""
    await service.delete_calendar(conn, calendar_id=calendar_id, actor=actor)


@router.get("/sla/calendars/{calendar_id}/holidays", response_model=list[HolidayRead])
async def list_holidays(conn: ConnDep, calendar_id: int):
    await service.get_calendar(conn, calendar_id=calendar_id)
    return await service.get_holidays(conn, calendar_id=calendar_id)


@router.post("/sla/calendars/{calendar_id}/holidays", response_model=HolidayRead, status_code=status.HTTP_201_CREATED)
async def create_holiday(conn: ConnDep, calendar_id: int, holiday_in: HolidayCreate):
    """A day on which the calendar's clocks do not run."""
    return await service.create_holiday(conn, calendar_id=calendar_id, holiday_in=holiday_in)


@router.delete("/sla/calendars/{calendar_id}/holidays/{holiday_id}", status_code=NO_CONTENT)
async def delete_holiday(conn: ConnDep, calendar_id: int, holiday_id: int, actor: ActorQuery):
    await service.delete_holiday(conn, calendar_id=calendar_id, holiday_id=holiday_id, actor=actor)


# policies


@router.get("/sla/policies", response_model=list[PolicyRead])
async def list_policies(conn: ConnDep):
    return await service.get_policies(conn)


@router.post("/sla/policies", response_model=PolicyRead, status_code=status.HTTP_201_CREATED)
async def create_policy(conn: ConnDep, policy_in: PolicyCreate):
    """Targets in business minutes for the orders the policy matches; the most specific match applies."""
    return await service.create_policy(conn, policy_in=policy_in)


@router.get("/sla/policies/{policy_id}", response_model=PolicyRead)
async def get_policy(conn: ConnDep, policy_id: int):
    return await service.get_policy(conn, policy_id=policy_id)


@router.patch("/sla/policies/{policy_id}", response_model=PolicyRead)
async def update_policy(conn: ConnDep, policy_id: int, policy_in: PolicyUpdate):
    return await service.update_policy(conn, policy_id=policy_id, policy_in=policy_in)


@router.delete("/sla/policies/{policy_id}", status_code=NO_CONTENT)
async def delete_policy(conn: ConnDep, policy_id: int, actor: ActorQuery):
    await service.delete_policy(conn, policy_id=policy_id, actor=actor)


# supervisors


@router.get("/sla/supervisors", response_model=list[SupervisorRead])
async def list_supervisors(
    conn: ConnDep, region: str | None = None, support_line: Annotated[int | None, Query(ge=1, le=2)] = None,
    active: bool | None = None,
):
    return await service.get_supervisors(conn, region=region, support_line=support_line, active=active)


@router.post("/sla/supervisors", response_model=SupervisorRead, status_code=status.HTTP_201_CREATED)
async def create_supervisor(conn: ConnDep, supervisor_in: SupervisorCreate):
    """Someone escalations of a region and support line go to (MQTT fleetcare/supervisors/{id}/escalations)."""
    return await service.create_supervisor(conn, supervisor_in=supervisor_in)


@router.get("/sla/supervisors/{supervisor_id}", response_model=SupervisorRead)
async def get_supervisor(conn: ConnDep, supervisor_id: int):
    return await service.get_supervisor(conn, supervisor_id=supervisor_id)


@router.patch("/sla/supervisors/{supervisor_id}", response_model=SupervisorRead)
async def update_supervisor(conn: ConnDep, supervisor_id: int, supervisor_in: SupervisorUpdate):
    return await service.update_supervisor(conn, supervisor_id=supervisor_id, supervisor_in=supervisor_in)


@router.delete("/sla/supervisors/{supervisor_id}", status_code=NO_CONTENT)
async def delete_supervisor(conn: ConnDep, supervisor_id: int, actor: ActorQuery):
    await service.delete_supervisor(conn, supervisor_id=supervisor_id, actor=actor)


# escalation rules


@router.get("/sla/escalation-rules", response_model=list[EscalationRuleRead])
async def list_rules(conn: ConnDep, active: bool | None = None):
    return await service.get_rules(conn, active=active)


@router.post("/sla/escalation-rules", response_model=EscalationRuleRead, status_code=status.HTTP_201_CREATED)
async def create_rule(conn: ConnDep, rule_in: EscalationRuleCreate):
    """When a condition holds for an order in scope, do an action; once per order."""
    return await service.create_rule(conn, rule_in=rule_in)


@router.get("/sla/escalation-rules/{rule_id}", response_model=EscalationRuleRead)
async def get_rule(conn: ConnDep, rule_id: int):
    return await service.get_rule(conn, rule_id=rule_id)


@router.patch("/sla/escalation-rules/{rule_id}", response_model=EscalationRuleRead)
async def update_rule(conn: ConnDep, rule_id: int, rule_in: EscalationRuleUpdate):
    return await service.update_rule(conn, rule_id=rule_id, rule_in=rule_in)


@router.delete("/sla/escalation-rules/{rule_id}", status_code=NO_CONTENT)
async def delete_rule(conn: ConnDep, rule_id: int, actor: ActorQuery):
    """Remove a rule with its firings; PATCH active=false keeps them."""
    await service.delete_rule(conn, rule_id=rule_id, actor=actor)
