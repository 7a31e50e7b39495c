"""Maintenance plans, their occurrences and the meters behind meter plans. Callers own the transaction."""

from __future__ import annotations

from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row
from pydantic import ValidationError

from service_core.audit import act_as
from service_core.errors import Conflict, NotFound, Unprocessable
from service_core.plans.models import AssetMeter, LastOccurrence, Occurrence, Plan, PlanAsset
from service_core.plans.schedule import Due, MeterState
from service_core.plans.schemas import ChecklistItem, PlanCreate, PlanPart, PlanSkill, PlanUpdate

_PLANS = """
select p.id, p.name, p.asset_id, p.asset_model, p.order_type, p.failure_mode, p.priority, p.trigger,
       p.interval_days, p.start_at, p.meter_kind, p.meter_metric, p.running_above, p.meter_interval,
       p.lead_days, p.window_days, p.duration_minutes, p.active, p.created_at, p.updated_at,
       coalesce((select jsonb_agg(jsonb_build_object('position', i.position, 'label', i.label,
                                                     'required', i.required) order by i.position)
                   from service.maintenance_plan_items i where i.plan_id = p.id), '[]'::jsonb) as checklist,
       coalesce((select jsonb_agg(jsonb_build_object('part_number', x.part_number, 'quantity', x.quantity::float8)
                                  order by x.part_number)
                   from service.maintenance_plan_parts x where x.plan_id = p.id), '[]'::jsonb) as parts,
       coalesce((select jsonb_agg(jsonb_build_object('skill', s.skill, 'min_level', s.min_level) order by s.skill)
                   from service.maintenance_plan_skills s where s.plan_id = p.id), '[]'::jsonb) as skills
  from service.maintenance_plans p
 where (%(id)s::bigint is null or p.id = %(id)s)
   and (%(asset_id)s::text is null or p.asset_id = %(asset_id)s
        or p.asset_model = (select a.model from service.assets a where a.id = %(asset_id)s))
   and (%(active)s::boolean is null or p.active = %(active)s)
   and (%(trigger)s::text is null or p.trigger = %(trigger)s)
 order by p.id
"""

_PLAN_COLUMNS = (
    "name", "asset_id", "asset_model", "order_type", "failure_mode", "priority", "trigger", "interval_days",
    "start_at", "meter_kind", "meter_metric", "running_above", "meter_interval", "lead_days", "window_days",
    "duration_minutes", "active",
)


async def get(conn: AsyncConnection, *, plan_id: int) -> Plan:
    """The plan with its checklist, parts and skills, or NotFound."""
    async with conn.cursor(row_factory=class_row(Plan)) as cur:
        await cur.execute(_PLANS, {"id": plan_id, "asset_id": None, "active": None, "trigger": None})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"maintenance plan {plan_id} not found")
    return row


async def get_all(
    conn: AsyncConnection, *, asset_id: str | None = None, active: bool | None = None, trigger: str | None = None
) -> list[Plan]:
    """Plans by id; ``asset_id`` gives those covering the asset, itself or through its model."""
    async with conn.cursor(row_factory=class_row(Plan)) as cur:
        await cur.execute(_PLANS, {"id": None, "asset_id": asset_id, "active": active, "trigger": trigger})
        return await cur.fetchall()


async def _check_references(conn: AsyncConnection, *, plan_in: PlanCreate) -> None:
    if plan_in.asset_id is not None:
        cur = await conn.execute("select 1 from service.assets where id = %(id)s", {"id": plan_in.asset_id})
        if await cur.fetchone() is None:
            raise Unprocessable(f"asset {plan_in.asset_id!r} not found")
    wanted = [p.part_number for p in plan_in.parts]
    cur = await conn.execute(
        "select part_number from service.parts where part_number = any(%(parts)s::text[])", {"parts": wanted}
    )
    known = {r[0] for r in await cur.fetchall()}
    unknown = [p for p in wanted if p not in known]
    if unknown:
        raise Unprocessable(f"parts not in the catalogue: {', '.join(unknown)}")


async def _set_children(
    conn: AsyncConnection,
    *,
    plan_id: int,
    checklist: list[ChecklistItem] | None,
    parts: list[PlanPart] | None,
    skills: list[PlanSkill] | None,
) -> None:
    """Replace whichever of the plan's checklist, parts and skills is given."""
    if checklist is not None:
        await conn.execute("delete from service.maintenance_plan_items where plan_id = %(id)s", {"id": plan_id})
        await conn.execute(
            """
            insert into service.maintenance_plan_items (plan_id, position, label, required)
            select %(id)s, u.position, u.label, u.required
              from unnest(%(labels)s::text[], %(required)s::boolean[]) with ordinality as u(label, required, position)
            """,
            {"id": plan_id, "labels": [i.label for i in checklist], "required": [i.required for i in checklist]},
        )
    if parts is not None:
        await conn.execute("delete from service.maintenance_plan_parts where plan_id = %(id)s", {"id": plan_id})
        await conn.execute(
            """
            insert into service.maintenance_plan_parts (plan_id, part_number, quantity)
            select %(id)s, u.part_number, u.quantity
              from unnest(%(numbers)s::text[], %(quantities)s::numeric[]) as u(part_number, quantity)
            """,
            {"id": plan_id, "numbers": [p.part_number for p in parts], "quantities": [p.quantity for p in parts]},
        )
    if skills is not None:
        await conn.execute("delete from service.maintenance_plan_skills where plan_id = %(id)s", {"id": plan_id})
        await conn.execute(
            """
            insert into service.maintenance_plan_skills (plan_id, skill, min_level)
            select %(id)s, u.skill, u.min_level
              from unnest(%(skills)s::text[], %(levels)s::smallint[]) as u(skill, min_level)
            """,
            {"id": plan_id, "skills": [s.skill for s in skills], "levels": [s.min_level for s in skills]},
        )


async def create(conn: AsyncConnection, *, plan_in: PlanCreate) -> Plan:
    """A new plan; its asset and parts must exist."""
    await _check_references(conn, plan_in=plan_in)
    await act_as(conn, plan_in.actor)
    cur = await conn.execute(
        """
        insert into service.maintenance_plans
               (name, asset_id, asset_model, order_type, failure_mode, priority, trigger, interval_days, start_at,
                meter_kind, meter_metric, running_above, meter_interval, lead_days, window_days, duration_minutes,
                active)
        values (%(name)s, %(asset_id)s, %(asset_model)s, %(order_type)s, %(failure_mode)s, %(priority)s,
                %(trigger)s, %(interval_days)s, %(start_at)s, %(meter_kind)s, %(meter_metric)s, %(running_above)s,
                %(meter_interval)s, %(lead_days)s, %(window_days)s, %(duration_minutes)s, %(active)s)
        returning id
        """,
        plan_in.model_dump(include=set(_PLAN_COLUMNS)),
    )
    (plan_id,) = await cur.fetchone()
    await _set_children(conn, plan_id=plan_id, checklist=plan_in.checklist, parts=plan_in.parts, skills=plan_in.skills)
    return await get(conn, plan_id=plan_id)


async def update(conn: AsyncConnection, *, plan_id: int, plan_in: PlanUpdate) -> Plan:
    """Change the fields given; the plan is checked as a whole again, as a new one would be."""
    await conn.execute("select 1 from service.maintenance_plans where id = %(id)s for update", {"id": plan_id})
    current = await get(conn, plan_id=plan_id)
    given = plan_in.model_dump(exclude_unset=True, exclude={"actor"})
    merged = {name: getattr(current, name) for name in _PLAN_COLUMNS} | {
        "checklist": [{"label": i["label"], "required": i["required"]} for i in current.checklist],
        "parts": current.parts,
        "skills": current.skills,
        "actor": plan_in.actor,
    } | given
    try:
        plan = PlanCreate.model_validate(merged)
    except ValidationError as exc:
        raise Unprocessable("; ".join(e["msg"] for e in exc.errors())) from None
    await _check_references(conn, plan_in=plan)
    await act_as(conn, plan_in.actor)
    await conn.execute(
        """
        update service.maintenance_plans
           set name = %(name)s, failure_mode = %(failure_mode)s, priority = %(priority)s,
               interval_days = %(interval_days)s, start_at = %(start_at)s, running_above = %(running_above)s,
               meter_interval = %(meter_interval)s, lead_days = %(lead_days)s, window_days = %(window_days)s,
               duration_minutes = %(duration_minutes)s, active = %(active)s
         where id = %(id)s
        """,
        plan.model_dump(include=set(_PLAN_COLUMNS)) | {"id": plan_id},
    )
    await _set_children(
        conn,
        plan_id=plan_id,
        checklist=plan.checklist if "checklist" in given else None,
        parts=plan.parts if "parts" in given else None,
        skills=plan.skills if "skills" in given else None,
    )
    return await get(conn, plan_id=plan_id)


async def delete(conn: AsyncConnection, *, plan_id: int, actor: str) -> None:
    """Remove a plan that has no occurrence yet; one with history is deactivated instead."""
    await get(conn, plan_id=plan_id)
    cur = await conn.execute("select 1 from service.plan_occurrences where plan_id = %(id)s limit 1", {"id": plan_id})
    if await cur.fetchone() is not None:
        raise Conflict(f"maintenance plan {plan_id} has occurrences; deactivate it (active: false) to keep its history")
    await act_as(conn, actor)
    await conn.execute("delete from service.maintenance_plans where id = %(id)s", {"id": plan_id})


# occurrences


async def get_occurrences(
    conn: AsyncConnection, *, plan_id: int, status: str | None = None, asset_id: str | None = None
) -> list[Occurrence]:
    """The plan's occurrences, generated and missed, by due time."""
    async with conn.cursor(row_factory=class_row(Occurrence)) as cur:
        await cur.execute(
            """
            select * from service.plan_occurrences
             where plan_id = %(plan_id)s
               and (%(status)s::text is null or status = %(status)s)
               and (%(asset_id)s::text is null or asset_id = %(asset_id)s)
             order by due_at, id
            """,
            {"plan_id": plan_id, "status": status, "asset_id": asset_id},
        )
        return await cur.fetchall()


async def get_plan_assets(conn: AsyncConnection) -> list[PlanAsset]:
    """Every asset each active scheduled (not condition) plan covers, in a fixed order, so concurrent
    schedulers take their locks in the same order."""
    async with conn.cursor(row_factory=class_row(PlanAsset)) as cur:
        await cur.execute(
            """
            select p.id as plan_id, a.id as asset_id, greatest(p.created_at, a.created_at) as since
              from service.maintenance_plans p
              join service.assets a on a.id = p.asset_id or a.model = p.asset_model
             where p.active and p.trigger <> 'condition'
             order by p.id, a.id
            """
        )
        return await cur.fetchall()


async def get_condition_plans(conn: AsyncConnection, *, asset_id: str, failure_mode: str) -> list[Plan]:
    """Active condition plans answering alerts of this failure mode on the asset (itself or its model)."""
    return [
        p
        for p in await get_all(conn, asset_id=asset_id, active=True, trigger="condition")
        if p.failure_mode == failure_mode
    ]


async def get_keys(conn: AsyncConnection, *, plan_id: int, asset_id: str) -> frozenset[str]:
    """The occurrence keys the plan has acted on for the asset."""
    cur = await conn.execute(
        "select occurrence_key from service.plan_occurrences where plan_id = %(plan_id)s and asset_id = %(asset_id)s",
        {"plan_id": plan_id, "asset_id": asset_id},
    )
    return frozenset(r[0] for r in await cur.fetchall())


async def count_occurrences(conn: AsyncConnection, *, plan_id: int, asset_id: str) -> int:
    cur = await conn.execute(
        "select count(*) from service.plan_occurrences where plan_id = %(plan_id)s and asset_id = %(asset_id)s",
        {"plan_id": plan_id, "asset_id": asset_id},
    )
    (count,) = await cur.fetchone()
    return count


async def get_last_occurrence(
    conn: AsyncConnection, *, plan_id: int, asset_id: str, generated_only: bool = False
) -> LastOccurrence | None:
    """The plan's latest occurrence on the asset (by due time), with its order's status and completion."""
    async with conn.cursor(row_factory=class_row(LastOccurrence)) as cur:
        await cur.execute(
            """
            select o.occurrence_key, o.due_at, o.status, o.meter_value, o.work_order_id,
                   w.status as order_status, service.completed_at(w.id) as completed_at
              from service.plan_occurrences o
              left join service.work_orders w on w.id = o.work_order_id
             where o.plan_id = %(plan_id)s and o.asset_id = %(asset_id)s
               and (not %(generated_only)s or o.status = 'generated')
             order by o.due_at desc, o.id desc
             limit 1
            """,
            {"plan_id": plan_id, "asset_id": asset_id, "generated_only": generated_only},
        )
        return await cur.fetchone()


async def claim_occurrence(
    conn: AsyncConnection,
    *,
    plan_id: int,
    asset_id: str,
    due: Due,
    actor: str,
    blocking_work_order_id: int | None = None,
) -> Occurrence | None:
    """Record the occurrence, or None when it is recorded already (by this or a concurrent scheduler, which
    this waits for): the unique key, not a check beforehand, decides who acts on it."""
    async with conn.cursor(row_factory=class_row(Occurrence)) as cur:
        await cur.execute(
            """
            insert into service.plan_occurrences
                   (plan_id, asset_id, occurrence_key, status, due_at, window_start, window_end, meter_value, reason,
                    blocking_work_order_id, recorded_by)
            values (%(plan_id)s, %(asset_id)s, %(key)s, %(status)s, %(due_at)s, %(window_start)s, %(window_end)s,
                    %(meter_value)s, %(reason)s, %(blocking)s, %(actor)s)
            on conflict (plan_id, asset_id, occurrence_key) do nothing
            returning *
            """,
            {
                "plan_id": plan_id,
                "asset_id": asset_id,
                "key": due.key,
                "status": "missed" if due.missed else "generated",
                "due_at": due.due_at,
                "window_start": due.window_start,
                "window_end": due.window_end,
                "meter_value": due.meter_value,
                "reason": due.missed,
                "blocking": blocking_work_order_id if due.missed else None,
                "actor": actor,
            },
        )
        return await cur.fetchone()


async def attach_order(conn: AsyncConnection, *, occurrence_id: int, work_order_id: int) -> Occurrence:
    """The order generated for a claimed occurrence."""
    async with conn.cursor(row_factory=class_row(Occurrence)) as cur:
        await cur.execute(
            "update service.plan_occurrences set work_order_id = %(wo)s where id = %(id)s returning *",
            {"wo": work_order_id, "id": occurrence_id},
        )
        return await cur.fetchone()


async def mark_missed(
    conn: AsyncConnection, *, occurrence_id: int, reason: str, blocking_work_order_id: int | None
) -> Occurrence:
    """A claimed occurrence that could open no order after all, and why."""
    async with conn.cursor(row_factory=class_row(Occurrence)) as cur:
        await cur.execute(
            """
            update service.plan_occurrences
               set status = 'missed', reason = %(reason)s, blocking_work_order_id = %(blocking)s
             where id = %(id)s
            returning *
            """,
            {"reason": reason, "blocking": blocking_work_order_id, "id": occurrence_id},
        )
        return await cur.fetchone()


async def copy_to_order(conn: AsyncConnection, *, plan_id: int, work_order_id: int) -> None:
    """Give the order the plan's checklist items (after those of its type), parts and required skills; a part or
    skill the order already needs keeps the larger quantity or level."""
    await conn.execute(
        """
        insert into service.checklist_items (work_order_id, position, label, required)
        select %(wo)s,
               coalesce((select max(c.position) from service.checklist_items c where c.work_order_id = %(wo)s), 0)
               + i.position,
               i.label, i.required
          from service.maintenance_plan_items i
         where i.plan_id = %(plan_id)s
        """,
        {"wo": work_order_id, "plan_id": plan_id},
    )
    await conn.execute(
        """
        insert into service.work_order_parts (work_order_id, part_number, quantity)
        select %(wo)s, x.part_number, x.quantity from service.maintenance_plan_parts x where x.plan_id = %(plan_id)s
        on conflict (work_order_id, part_number)
           do update set quantity = greatest(service.work_order_parts.quantity, excluded.quantity)
        """,
        {"wo": work_order_id, "plan_id": plan_id},
    )
    await conn.execute(
        """
        insert into service.work_order_skills (work_order_id, skill, min_level)
        select %(wo)s, s.skill, s.min_level from service.maintenance_plan_skills s where s.plan_id = %(plan_id)s
        on conflict (work_order_id, skill)
           do update set min_level = greatest(service.work_order_skills.min_level, excluded.min_level)
        """,
        {"wo": work_order_id, "plan_id": plan_id},
    )


# meters


async def get_meters(conn: AsyncConnection, *, asset_id: str) -> list[AssetMeter]:
    """The asset's meters as last advanced by the scheduler."""
    async with conn.cursor(row_factory=class_row(AssetMeter)) as cur:
        await cur.execute(
            "select * from service.asset_meters where asset_id = %(id)s order by kind, metric, running_above",
            {"id": asset_id},
        )
        return await cur.fetchall()


async def lock_meter(
    conn: AsyncConnection, *, asset_id: str, kind: str, metric: str, running_above: float
) -> MeterState:
    """The meter's state, locked until the transaction ends so no two schedulers count the same readings."""
    key = {"asset_id": asset_id, "kind": kind, "metric": metric, "running_above": running_above}
    await conn.execute(
        """
        insert into service.asset_meters (asset_id, kind, metric, running_above)
        values (%(asset_id)s, %(kind)s, %(metric)s, %(running_above)s)
        on conflict do nothing
        """,
        key,
    )
    cur = await conn.execute(
        """
        select value, running, computed_until from service.asset_meters
         where asset_id = %(asset_id)s and kind = %(kind)s and metric = %(metric)s and running_above = %(running_above)s
           for update
        """,
        key,
    )
    value, running, computed_until = await cur.fetchone()
    return MeterState(value=value, running=running, computed_until=computed_until)


async def save_meter(
    conn: AsyncConnection, *, asset_id: str, kind: str, metric: str, running_above: float, state: MeterState
) -> None:
    await conn.execute(
        """
        update service.asset_meters
           set value = %(value)s, running = %(running)s, computed_until = %(computed_until)s, updated_at = now()
         where asset_id = %(asset_id)s and kind = %(kind)s and metric = %(metric)s and running_above = %(running_above)s
        """,
        {"asset_id": asset_id, "kind": kind, "metric": metric, "running_above": running_above, "value": state.value,
         "running": state.running, "computed_until": state.computed_until},
    )


async def get_readings(
    conn: AsyncConnection, *, asset_id: str, metric: str, after: datetime | None, until: datetime
) -> list[tuple[datetime, float]]:
    """The asset's readings of one metric after ``after`` up to ``until``, oldest first."""
    cur = await conn.execute(
        """
        select ts, value from telemetry.readings
         where asset_id = %(asset_id)s and metric = %(metric)s
           and ts > coalesce(%(after)s::timestamptz, '-infinity') and ts <= %(until)s
         order by ts
        """,
        {"asset_id": asset_id, "metric": metric, "after": after, "until": until},
    )
    return await cur.fetchall()
