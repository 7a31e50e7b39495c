"""Calendars, holidays, policies, supervisors, escalation rules and their firings. Callers own the transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from typing import TypeVar

from psycopg import AsyncConnection, errors
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ValidationError

from service_core.audit import act_as
from service_core.errors import Conflict, NotFound, Unprocessable
from service_core.notifications.service import json_dumps
from service_core.sla.models import Calendar, EscalationRule, Firing, Holiday, OrderFacts, Policy, Supervisor
from service_core.sla.schemas import (
    CalendarCreate,
    CalendarUpdate,
    DayHours,
    EscalationRuleCreate,
    EscalationRuleUpdate,
    HolidayCreate,
    PolicyCreate,
    PolicyUpdate,
    SupervisorCreate,
    SupervisorUpdate,
    minutes_of,
)
from service_core.workorders.models import WorkOrderEvent

M = TypeVar("M", bound=BaseModel)

_CALENDARS = """
select c.id, c.name, c.timezone,
       coalesce((select jsonb_agg(jsonb_build_object('weekday', h.weekday, 'opens_min', h.opens_min,
                                                     'closes_min', h.closes_min) order by h.weekday)
                   from service.sla_calendar_hours h
                  where h.calendar_id = c.id), '[]'::jsonb) as hours,
       c.created_at
  from service.sla_calendars c
 where %(id)s::bigint is null or c.id = %(id)s
 order by c.id
"""

_POLICIES = """
select id, name, calendar_id, contract_level, order_type, priority, response_minutes, arrival_minutes,
       resolution_minutes, pause_statuses, pause_hold_reasons, warn_at_share::float8 as warn_at_share,
       created_at, updated_at
  from service.sla_policies
 where %(id)s::bigint is null or id = %(id)s
 order by id
"""

_RULES = """
select id, name, condition, metric, share::float8 as share, hours::float8 as hours, clock, order_type, priority,
       region, action, active, created_at, updated_at
  from service.sla_escalation_rules
 where (%(id)s::bigint is null or id = %(id)s)
   and (%(active)s::boolean is null or active = %(active)s)
 order by id
"""

# The contract level is that of the customer's best contract active on the order's creation day (UTC).
_ORDER_FACTS = """
select o.id, o.title, o.type, o.status, o.priority, o.hold_reason, o.support_line, o.engineer_id, o.asset_id,
       s.id as site_id, s.region,
       (select c.level from service.contracts c
         where c.customer_id = s.customer_id
           and (o.created_at at time zone 'UTC')::date between c.starts_on and c.ends_on
         order by array_position(array['premium', 'standard', 'basic'], c.level)
         limit 1) as contract_level,
       o.created_at
  from service.work_orders o
  join service.assets a on a.id = o.asset_id
  join service.sites s on s.id = a.site_id
 where (%(id)s::bigint is null or o.id = %(id)s)
   and (%(ids)s::bigint[] is null or o.id = any(%(ids)s::bigint[]))
   and (not %(open_only)s or o.status not in ('completed', 'closed', 'cancelled'))
   and (%(region)s::text is null or s.region = %(region)s)
   and (%(site_id)s::bigint is null or s.id = %(site_id)s)
   and (%(engineer_id)s::bigint is null or o.engineer_id = %(engineer_id)s)
   and (%(priority)s::text is null or o.priority = %(priority)s)
 order by o.id
"""


def _validated(model: type[M], data: dict) -> M:
    """A patched row checked as a whole, the way a new one would be; a bad combination is a 422."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable("; ".join(e["msg"] for e in exc.errors())) from None


# calendars and holidays


async def get_calendar(conn: AsyncConnection, *, calendar_id: int) -> Calendar:
    """The calendar with its working hours, or NotFound."""
    async with conn.cursor(row_factory=class_row(Calendar)) as cur:
        await cur.execute(_CALENDARS, {"id": calendar_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"calendar {calendar_id} not found")
    return row


async def get_calendars(conn: AsyncConnection) -> list[Calendar]:
    """Every calendar by id."""
    async with conn.cursor(row_factory=class_row(Calendar)) as cur:
        await cur.execute(_CALENDARS, {"id": None})
        return await cur.fetchall()


async def _set_hours(conn: AsyncConnection, *, calendar_id: int, hours: list[DayHours]) -> None:
    await conn.execute("delete from service.sla_calendar_hours where calendar_id = %(id)s", {"id": calendar_id})
    await conn.execute(
        """
        insert into service.sla_calendar_hours (calendar_id, weekday, opens_min, closes_min)
        select %(id)s, u.weekday, u.opens, u.closes
          from unnest(%(weekdays)s::smallint[], %(opens)s::smallint[], %(closes)s::smallint[])
               as u(weekday, opens, closes)
        """,
        {
            "id": calendar_id,
            "weekdays": [h.weekday for h in hours],
            "opens": [minutes_of(h.start) for h in hours],
            "closes": [minutes_of(h.end) for h in hours],
        },
    )


async def create_calendar(conn: AsyncConnection, *, calendar_in: CalendarCreate) -> Calendar:
    """Add a calendar with its working week; its name must be unused."""
    await act_as(conn, calendar_in.actor)
    try:
        async with conn.transaction():
            cur = await conn.execute(
                "insert into service.sla_calendars (name, timezone) values (%(name)s, %(timezone)s) returning id",
                {"name": calendar_in.name, "timezone": calendar_in.timezone},
            )
            (calendar_id,) = await cur.fetchone()
    except errors.UniqueViolation:
        raise Conflict(f"a calendar named {calendar_in.name!r} exists") from None
    await _set_hours(conn, calendar_id=calendar_id, hours=calendar_in.hours)
    return await get_calendar(conn, calendar_id=calendar_id)


async def update_calendar(conn: AsyncConnection, *, calendar_id: int, calendar_in: CalendarUpdate) -> Calendar:
    """Change the name, time zone or working week given."""
    current = await get_calendar(conn, calendar_id=calendar_id)
    await act_as(conn, calendar_in.actor)
    values = {"name": current.name, "timezone": current.timezone} | calendar_in.model_dump(
        exclude_unset=True, include={"name", "timezone"}
    )
    try:
        async with conn.transaction():
            await conn.execute(
                "update service.sla_calendars set name = %(name)s, timezone = %(timezone)s where id = %(id)s",
                values | {"id": calendar_id},
            )
    except errors.UniqueViolation:
        raise Conflict(f"a calendar named {values['name']!r} exists") from None
    if calendar_in.hours is not None:
        await _set_hours(conn, calendar_id=calendar_id, hours=calendar_in.hours)
    return await get_calendar(conn, calendar_id=calendar_id)


async def delete_calendar(conn: AsyncConnection, *, calendar_id: int, actor: str) -> None:
    """Remove a calendar no policy uses, with its hours and holidays."""
    await get_calendar(conn, calendar_id=calendar_id)
    await act_as(conn, actor)
    try:
        async with conn.transaction():
            await conn.execute("delete from service.sla_calendars where id = %(id)s", {"id": calendar_id})
    except errors.ForeignKeyViolation:
        raise Conflict(f"calendar {calendar_id} is used by a policy; change the policy first") from None


async def get_holidays(conn: AsyncConnection, *, calendar_id: int | None = None) -> list[Holiday]:
    """Holidays by day, of one calendar or all."""
    async with conn.cursor(row_factory=class_row(Holiday)) as cur:
        await cur.execute(
            """
            select * from service.sla_holidays
             where %(id)s::bigint is null or calendar_id = %(id)s
             order by day, id
            """,
            {"id": calendar_id},
        )
        return await cur.fetchall()


async def create_holiday(conn: AsyncConnection, *, calendar_id: int, holiday_in: HolidayCreate) -> Holiday:
    """Add a holiday to a calendar; one per day."""
    await get_calendar(conn, calendar_id=calendar_id)
    await act_as(conn, holiday_in.actor)
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(Holiday)) as cur:
            await cur.execute(
                """
                insert into service.sla_holidays (calendar_id, day, name) values (%(calendar_id)s, %(day)s, %(name)s)
                returning *
                """,
                {"calendar_id": calendar_id, "day": holiday_in.day, "name": holiday_in.name},
            )
            return await cur.fetchone()
    except errors.UniqueViolation:
        raise Conflict(f"calendar {calendar_id} already has a holiday on {holiday_in.day}") from None


async def delete_holiday(conn: AsyncConnection, *, calendar_id: int, holiday_id: int, actor: str) -> None:
    """Remove a calendar's holiday, or NotFound."""
    await act_as(conn, actor)
    cur = await conn.execute(
        "delete from service.sla_holidays where id = %(id)s and calendar_id = %(calendar_id)s returning id",
        {"id": holiday_id, "calendar_id": calendar_id},
    )
    if await cur.fetchone() is None:
        raise NotFound(f"holiday {holiday_id} of calendar {calendar_id} not found")


# policies


async def get_policy(conn: AsyncConnection, *, policy_id: int) -> Policy:
    """The policy, or NotFound."""
    async with conn.cursor(row_factory=class_row(Policy)) as cur:
        await cur.execute(_POLICIES, {"id": policy_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"policy {policy_id} not found")
    return row


async def get_policies(conn: AsyncConnection) -> list[Policy]:
    """Every policy by id."""
    async with conn.cursor(row_factory=class_row(Policy)) as cur:
        await cur.execute(_POLICIES, {"id": None})
        return await cur.fetchall()


_POLICY_COLUMNS = """
name = %(name)s, calendar_id = %(calendar_id)s, contract_level = %(contract_level)s, order_type = %(order_type)s,
priority = %(priority)s, response_minutes = %(response_minutes)s, arrival_minutes = %(arrival_minutes)s,
resolution_minutes = %(resolution_minutes)s, pause_statuses = %(pause_statuses)s,
pause_hold_reasons = %(pause_hold_reasons)s, warn_at_share = %(warn_at_share)s
"""


async def _write_policy(conn: AsyncConnection, statement: str, policy_in: PolicyCreate, **keys: int) -> int:
    cur = await conn.execute("select 1 from service.sla_calendars where id = %(id)s", {"id": policy_in.calendar_id})
    if await cur.fetchone() is None:  # said first: it is the clearer complaint when the match clashes too
        raise Unprocessable(f"calendar {policy_in.calendar_id} not found")
    await act_as(conn, policy_in.actor)
    try:
        async with conn.transaction():
            cur = await conn.execute(statement, policy_in.model_dump(exclude={"actor"}) | keys)
            row = await cur.fetchone()
    except errors.ForeignKeyViolation:
        raise Unprocessable(f"calendar {policy_in.calendar_id} not found") from None
    except errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "sla_policies_one_per_match":
            match = ", ".join(getattr(policy_in, f) or "any" for f in ("contract_level", "order_type", "priority"))
            raise Conflict(
                f"another policy already matches the same contract level, order type and priority ({match})"
            ) from None
        raise Conflict(f"a policy named {policy_in.name!r} exists") from None
    return row[0]


async def create_policy(conn: AsyncConnection, *, policy_in: PolicyCreate) -> Policy:
    """Add a policy; its calendar must exist and no other policy may match exactly the same orders."""
    policy_id = await _write_policy(
        conn,
        """
        insert into service.sla_policies
               (name, calendar_id, contract_level, order_type, priority, response_minutes, arrival_minutes,
                resolution_minutes, pause_statuses, pause_hold_reasons, warn_at_share)
        values (%(name)s, %(calendar_id)s, %(contract_level)s, %(order_type)s, %(priority)s, %(response_minutes)s,
                %(arrival_minutes)s, %(resolution_minutes)s, %(pause_statuses)s, %(pause_hold_reasons)s,
                %(warn_at_share)s)
        returning id
        """,
        policy_in,
    )
    return await get_policy(conn, policy_id=policy_id)


async def update_policy(conn: AsyncConnection, *, policy_id: int, policy_in: PolicyUpdate) -> Policy:
    """Change the fields given; the policy as a whole must still be valid."""
    current = await get_policy(conn, policy_id=policy_id)
    given = {k: v for k, v in asdict(current).items() if k in PolicyCreate.model_fields}
    merged = _validated(PolicyCreate, given | policy_in.model_dump(exclude_unset=True))
    await _write_policy(
        conn, f"update service.sla_policies set {_POLICY_COLUMNS} where id = %(id)s returning id", merged, id=policy_id
    )
    return await get_policy(conn, policy_id=policy_id)


async def delete_policy(conn: AsyncConnection, *, policy_id: int, actor: str) -> None:
    """Remove a policy; the orders it matched fall under the next most specific one."""
    await act_as(conn, actor)
    cur = await conn.execute("delete from service.sla_policies where id = %(id)s returning id", {"id": policy_id})
    if await cur.fetchone() is None:
        raise NotFound(f"policy {policy_id} not found")


# supervisors


async def get_supervisor(conn: AsyncConnection, *, supervisor_id: int) -> Supervisor:
    """The supervisor, or NotFound."""
    async with conn.cursor(row_factory=class_row(Supervisor)) as cur:
        await cur.execute("select * from service.supervisors where id = %(id)s", {"id": supervisor_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"supervisor {supervisor_id} not found")
    return row


async def get_supervisors(
    conn: AsyncConnection, *, region: str | None = None, support_line: int | None = None, active: bool | None = None
) -> list[Supervisor]:
    """Supervisors matching every filter given, by id."""
    async with conn.cursor(row_factory=class_row(Supervisor)) as cur:
        await cur.execute(
            """
            select * from service.supervisors
             where (%(region)s::text is null or region = %(region)s)
               and (%(line)s::smallint is null or support_line = %(line)s)
               and (%(active)s::boolean is null or active = %(active)s)
             order by id
            """,
            {"region": region, "line": support_line, "active": active},
        )
        return await cur.fetchall()


async def create_supervisor(conn: AsyncConnection, *, supervisor_in: SupervisorCreate) -> Supervisor:
    """Add a supervisor of a region and support line."""
    await act_as(conn, supervisor_in.actor)
    async with conn.cursor(row_factory=class_row(Supervisor)) as cur:
        await cur.execute(
            """
            insert into service.supervisors (name, email, region, support_line, active)
            values (%(name)s, %(email)s, %(region)s, %(support_line)s, %(active)s)
            returning *
            """,
            supervisor_in.model_dump(exclude={"actor"}),
        )
        return await cur.fetchone()


async def update_supervisor(
    conn: AsyncConnection, *, supervisor_id: int, supervisor_in: SupervisorUpdate
) -> Supervisor:
    """Change the fields given."""
    values = asdict(await get_supervisor(conn, supervisor_id=supervisor_id))
    values |= supervisor_in.model_dump(exclude_unset=True, exclude={"actor"})
    await act_as(conn, supervisor_in.actor)
    async with conn.cursor(row_factory=class_row(Supervisor)) as cur:
        await cur.execute(
            """
            update service.supervisors
               set name = %(name)s, email = %(email)s, region = %(region)s, support_line = %(support_line)s,
                   active = %(active)s
             where id = %(id)s
            returning *
            """,
            values,
        )
        return await cur.fetchone()


async def delete_supervisor(conn: AsyncConnection, *, supervisor_id: int, actor: str) -> None:
    """Remove a supervisor (past notifications keep their id)."""
    await act_as(conn, actor)
    cur = await conn.execute("delete from service.supervisors where id = %(id)s returning id", {"id": supervisor_id})
    if await cur.fetchone() is None:
        raise NotFound(f"supervisor {supervisor_id} not found")


# escalation rules and what they fired


async def get_rule(conn: AsyncConnection, *, rule_id: int) -> EscalationRule:
    """The escalation rule, or NotFound."""
    async with conn.cursor(row_factory=class_row(EscalationRule)) as cur:
        await cur.execute(_RULES, {"id": rule_id, "active": None})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"escalation rule {rule_id} not found")
    return row


async def get_rules(conn: AsyncConnection, *, active: bool | None = None) -> list[EscalationRule]:
    """Escalation rules by id, optionally only the active (or inactive) ones."""
    async with conn.cursor(row_factory=class_row(EscalationRule)) as cur:
        await cur.execute(_RULES, {"id": None, "active": active})
        return await cur.fetchall()


_RULE_COLUMNS = """
name = %(name)s, condition = %(condition)s, metric = %(metric)s, share = %(share)s, hours = %(hours)s,
clock = %(clock)s, order_type = %(order_type)s, priority = %(priority)s, region = %(region)s, action = %(action)s,
active = %(active)s
"""


async def _write_rule(conn: AsyncConnection, statement: str, rule_in: EscalationRuleCreate, **keys: int) -> int:
    await act_as(conn, rule_in.actor)
    try:
        async with conn.transaction():
            cur = await conn.execute(statement, rule_in.model_dump(exclude={"actor"}) | keys)
            row = await cur.fetchone()
    except errors.UniqueViolation:
        raise Conflict(f"an escalation rule named {rule_in.name!r} exists") from None
    return row[0]


async def create_rule(conn: AsyncConnection, *, rule_in: EscalationRuleCreate) -> EscalationRule:
    """Add an escalation rule."""
    rule_id = await _write_rule(
        conn,
        """
        insert into service.sla_escalation_rules
               (name, condition, metric, share, hours, clock, order_type, priority, region, action, active)
        values (%(name)s, %(condition)s, %(metric)s, %(share)s, %(hours)s, %(clock)s, %(order_type)s, %(priority)s,
                %(region)s, %(action)s, %(active)s)
        returning id
        """,
        rule_in,
    )
    return await get_rule(conn, rule_id=rule_id)


async def update_rule(conn: AsyncConnection, *, rule_id: int, rule_in: EscalationRuleUpdate) -> EscalationRule:
    """Change the fields given; the rule as a whole must still be valid. Orders it already fired for stay fired."""
    current = {k: v for k, v in asdict(await get_rule(conn, rule_id=rule_id)).items()
               if k in EscalationRuleCreate.model_fields}
    merged = _validated(EscalationRuleCreate, current | rule_in.model_dump(exclude_unset=True))
    await _write_rule(
        conn, f"update service.sla_escalation_rules set {_RULE_COLUMNS} where id = %(id)s returning id", merged,
        id=rule_id,
    )
    return await get_rule(conn, rule_id=rule_id)


async def delete_rule(conn: AsyncConnection, *, rule_id: int, actor: str) -> None:
    """Remove a rule and its firings (the orders' events keep the history); set active=false to keep them."""
    await act_as(conn, actor)
    cur = await conn.execute(
        "delete from service.sla_escalation_rules where id = %(id)s returning id", {"id": rule_id}
    )
    if await cur.fetchone() is None:
        raise NotFound(f"escalation rule {rule_id} not found")


async def get_firings(conn: AsyncConnection, *, work_order_id: int | None = None, rule_id: int | None = None
                      ) -> list[Firing]:
    """What the rules fired, oldest first."""
    async with conn.cursor(row_factory=class_row(Firing)) as cur:
        await cur.execute(
            """
            select * from service.sla_rule_firings
             where (%(order)s::bigint is null or work_order_id = %(order)s)
               and (%(rule)s::bigint is null or rule_id = %(rule)s)
             order by id
            """,
            {"order": work_order_id, "rule": rule_id},
        )
        return await cur.fetchall()


async def fire(conn: AsyncConnection, *, rule_id: int, work_order_id: int, details: dict) -> bool:
    """Claim the rule's one firing for this order; False when it has fired already (in any transaction).

    A concurrent evaluator's uncommitted claim makes this wait for it, then return False if it committed.
    """
    cur = await conn.execute(
        """
        insert into service.sla_rule_firings (rule_id, work_order_id, details)
        values (%(rule)s, %(order)s, %(details)s)
        on conflict (rule_id, work_order_id) do nothing
        returning id
        """,
        {"rule": rule_id, "order": work_order_id, "details": Jsonb(details, dumps=json_dumps)},
    )
    return await cur.fetchone() is not None


async def mark_crossing(conn: AsyncConnection, *, work_order_id: int, metric: str, level: str) -> bool:
    """Record that a clock reached its warning or breach; False when that was recorded before."""
    cur = await conn.execute(
        """
        insert into service.sla_crossings (work_order_id, metric, level) values (%(order)s, %(metric)s, %(level)s)
        on conflict do nothing
        returning 1
        """,
        {"order": work_order_id, "metric": metric, "level": level},
    )
    return await cur.fetchone() is not None


async def escalate_line(conn: AsyncConnection, *, work_order_id: int, actor: str) -> bool:
    """Move a first-line order to second-line support (audited); False when it is there already."""
    await act_as(conn, actor)
    cur = await conn.execute(
        "update service.work_orders set support_line = 2 where id = %(id)s and support_line = 1 returning id",
        {"id": work_order_id},
    )
    return await cur.fetchone() is not None


# the orders as the SLA sees them


async def get_order_facts(
    conn: AsyncConnection,
    *,
    work_order_id: int | None = None,
    work_order_ids: list[int] | None = None,
    open_only: bool = False,
    region: str | None = None,
    site_id: int | None = None,
    engineer_id: int | None = None,
    priority: str | None = None,
) -> list[OrderFacts]:
    """Orders with their site's region and the customer's contract level, by id."""
    async with conn.cursor(row_factory=class_row(OrderFacts)) as cur:
        await cur.execute(
            _ORDER_FACTS,
            {
                "id": work_order_id,
                "ids": work_order_ids,
                "open_only": open_only,
                "region": region,
                "site_id": site_id,
                "engineer_id": engineer_id,
                "priority": priority,
            },
        )
        return await cur.fetchall()


async def get_events_of(conn: AsyncConnection, *, work_order_ids: list[int]) -> dict[int, list[WorkOrderEvent]]:
    """The histories of several orders at once, each oldest first."""
    async with conn.cursor(row_factory=class_row(WorkOrderEvent)) as cur:
        await cur.execute(
            "select * from service.work_order_events where work_order_id = any(%(ids)s::bigint[]) order by id",
            {"ids": work_order_ids},
        )
        rows = await cur.fetchall()
    by_order: dict[int, list[WorkOrderEvent]] = defaultdict(list)
    for row in rows:
        by_order[row.work_order_id].append(row)
    return by_order
