"""The plan scheduler and the condition plans' part in the detector's orders; work that crosses into work orders.

Everything runs in the caller's transaction. Each plan and asset is handled in a savepoint of its own, so one
that fails is logged and reported without undoing the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection

from service_core.plans import schedule, service
from service_core.plans.models import LastOccurrence, Occurrence, Plan, PlanAsset
from service_core.workorders import service as workorders_service
from service_core.workorders.models import WorkOrder
from service_core.workorders.schemas import WorkOrderUpdate

log = logging.getLogger(__name__)

SCHEDULER_ACTOR = "plans"


@dataclass(slots=True)
class RunResult:
    """What one scheduler run did: occurrences generated (with their orders) and missed, meters advanced."""

    now: datetime
    generated: list[Occurrence] = field(default_factory=list)
    missed: list[Occurrence] = field(default_factory=list)
    meters_advanced: int = 0
    failed: list[str] = field(default_factory=list)


def calendar_of(plan: Plan) -> schedule.Calendar:
    assert plan.interval_days is not None and plan.start_at is not None
    return schedule.Calendar(
        interval=timedelta(days=plan.interval_days),
        start_at=plan.start_at,
        lead=timedelta(days=plan.lead_days),
        window=timedelta(days=plan.window_days),
    )


def previous_of(last: LastOccurrence | None) -> schedule.Previous | None:
    if last is None:
        return None
    return schedule.Previous(
        key=last.occurrence_key,
        due_at=last.due_at,
        missed=last.status == "missed",
        order_status=last.order_status,
        completed_at=last.completed_at,
        meter_value=last.meter_value,
    )


async def run(conn: AsyncConnection, *, now: datetime, actor: str = SCHEDULER_ACTOR) -> RunResult:
    """Generate every order the active calendar and meter plans have due at ``now`` and log what they missed.

    Idempotent: an occurrence already recorded is left alone, and two runs at once generate it once.
    """
    result = RunResult(now=now)
    plans = {p.id: p for p in await service.get_all(conn, active=True)}
    for covered in await service.get_plan_assets(conn):
        plan = plans.get(covered.plan_id)
        if plan is None:  # created after the plans were read: the next run takes it
            continue
        try:
            async with conn.transaction():
                await _run_one(conn, plan=plan, covered=covered, now=now, actor=actor, result=result)
        except Exception:  # one bad plan or asset must not stop the others; it is logged and reported
            log.exception("maintenance plan %s on %s failed", plan.id, covered.asset_id)
            result.failed.append(f"plan {plan.id} on {covered.asset_id}")
    return result


async def _run_one(
    conn: AsyncConnection, *, plan: Plan, covered: PlanAsset, now: datetime, actor: str, result: RunResult
) -> None:
    asset_id = covered.asset_id
    blocking: int | None = None
    if plan.trigger == "fixed":
        last = await service.get_last_occurrence(conn, plan_id=plan.id, asset_id=asset_id, generated_only=True)
        previous = previous_of(last)
        blocking = last.work_order_id if previous is not None and previous.open else None
        decisions = schedule.fixed_due(
            calendar_of(plan),
            since=covered.since,
            now=now,
            known=await service.get_keys(conn, plan_id=plan.id, asset_id=asset_id),
            previous_open=blocking is not None,
        )
    elif plan.trigger == "floating":
        last = await service.get_last_occurrence(conn, plan_id=plan.id, asset_id=asset_id)
        decisions = schedule.floating_due(calendar_of(plan), since=covered.since, now=now, previous=previous_of(last))
    elif plan.trigger == "meter":
        value = await advance_meter(conn, plan=plan, asset_id=asset_id, now=now, result=result)
        last = await service.get_last_occurrence(conn, plan_id=plan.id, asset_id=asset_id)
        previous = previous_of(last)
        blocking = last.work_order_id if previous is not None and previous.open else None
        assert plan.meter_interval is not None
        decisions = schedule.meter_due(
            value=value,
            interval=plan.meter_interval,
            previous=previous,
            count=await service.count_occurrences(conn, plan_id=plan.id, asset_id=asset_id),
            now=now,
            window=timedelta(days=plan.window_days),
        )
    else:
        return
    for due in decisions:
        occurrence = await act_on(conn, plan=plan, asset_id=asset_id, due=due, actor=actor, blocking=blocking)
        if occurrence is None:
            continue
        if occurrence.status == "generated":
            result.generated.append(occurrence)
            blocking = occurrence.work_order_id
        else:
            result.missed.append(occurrence)


async def advance_meter(
    conn: AsyncConnection, *, plan: Plan, asset_id: str, now: datetime, result: RunResult | None = None
) -> float:
    """Count the readings that arrived since the meter was last advanced; returns the meter's value."""
    assert plan.meter_kind and plan.meter_metric and plan.running_above is not None
    meter = schedule.Meter(plan.meter_kind, plan.meter_metric, plan.running_above)
    key = {"asset_id": asset_id, "kind": meter.kind, "metric": meter.metric, "running_above": meter.running_above}
    state = await service.lock_meter(conn, **key)
    readings = await service.get_readings(
        conn, asset_id=asset_id, metric=meter.metric, after=state.computed_until, until=now
    )
    advanced = meter.advance(state, readings)
    if advanced != state:
        await service.save_meter(conn, **key, state=advanced)
        if result is not None:
            result.meters_advanced += 1
    return advanced.value


async def act_on(
    conn: AsyncConnection, *, plan: Plan, asset_id: str, due: schedule.Due, actor: str, blocking: int | None
) -> Occurrence | None:
    """Record the occurrence and, unless it is missed, open its order with the plan's checklist, parts and skills.

    None when it was recorded already. An asset that already has an open preventive order for the plan's
    failure mode gets no second one: the occurrence is missed, naming that order.
    """
    occurrence = await service.claim_occurrence(
        conn, plan_id=plan.id, asset_id=asset_id, due=due, actor=actor, blocking_work_order_id=blocking
    )
    if occurrence is None or due.missed:
        return occurrence
    order = await workorders_service.insert(
        conn,
        asset_id=asset_id,
        type=plan.order_type,
        failure_mode=plan.failure_mode,
        priority=plan.priority,
        title=f"{plan.name} on {asset_id}"[:200],
        description=_describe(plan, due),
        due_at=due.window_end,
        window_start=due.window_start,
        window_end=due.window_end,
        duration_minutes=plan.duration_minutes,
        actor=actor,
    )
    if order is None:
        assert plan.failure_mode is not None
        existing = await workorders_service.get_open_preventive(
            conn, asset_id=asset_id, failure_mode=plan.failure_mode
        )
        return await service.mark_missed(
            conn,
            occurrence_id=occurrence.id,
            reason=schedule.ORDER_ALREADY_OPEN,
            blocking_work_order_id=existing.id if existing else None,
        )
    await service.copy_to_order(conn, plan_id=plan.id, work_order_id=order.id)
    return await service.attach_order(conn, occurrence_id=occurrence.id, work_order_id=order.id)


async def apply_condition_plans(conn: AsyncConnection, *, order: WorkOrder, actor: str) -> WorkOrder:
    """Give a preventive order the detector opened what the asset's condition plans for its failure mode
    prescribe: their checklist items, parts and skills, and the longest time on site. Once per plan and order;
    returns the order as it now stands (its occurrences are the plans' ``order:{id}``)."""
    if order.failure_mode is None:
        return order
    applied = []
    duration = order.duration_minutes
    for plan in await service.get_condition_plans(conn, asset_id=order.asset_id, failure_mode=order.failure_mode):
        at = order.due_at or order.created_at
        occurrence = await service.claim_occurrence(
            conn,
            plan_id=plan.id,
            asset_id=order.asset_id,
            due=schedule.Due(key=f"order:{order.id}", due_at=at, window_start=order.window_start or order.created_at,
                             window_end=order.window_end or at),
            actor=actor,
        )
        if occurrence is None:
            continue
        await service.copy_to_order(conn, plan_id=plan.id, work_order_id=order.id)
        applied.append(await service.attach_order(conn, occurrence_id=occurrence.id, work_order_id=order.id))
        duration = max(duration, plan.duration_minutes)
    if duration != order.duration_minutes:
        order = await workorders_service.update(
            conn,
            work_order_id=order.id,
            work_order_in=WorkOrderUpdate(
                duration_minutes=duration, actor=actor, note="time on site from its maintenance plan"
            ),
        )
    if applied:
        log.info("order %s follows maintenance plans %s", order.id, [o.plan_id for o in applied])
    return order


def _describe(plan: Plan, due: schedule.Due) -> str:
    if plan.trigger == "meter":
        unit = "run hours" if plan.meter_kind == "run_hours" else "cycles"
        when = f"every {plan.meter_interval:g} {unit} of {plan.meter_metric}; meter at {due.meter_value:.1f}"
    elif plan.trigger == "fixed":
        when = f"every {plan.interval_days} days from {plan.start_at:%Y-%m-%d}"
    else:
        when = f"{plan.interval_days} days after the last completion"
    by = due.window_end.astimezone(UTC)
    return f"Maintenance plan {plan.id} ({plan.name}): {when}. Occurrence {due.key}, due by {by:%Y-%m-%d %H:%M} UTC."
