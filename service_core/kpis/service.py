"""The KPI figures, read in a few literal SQL statements; the arithmetic is in ``formulas``.

See ``service_core.kpis.formulas`` for each KPI's definition.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row

from service_core.kpis import formulas
from service_core.kpis.models import EngineerLabour, ModelExposure, OrderFigures, Scope, SurveyFigures
from service_core.sla import flows as sla_flows
from service_core.sla.clock import METRICS

# The orders the filters keep (engineer: the order's current engineer).
_SCOPE = """
scope as (
    select o.id, o.type, o.asset_id, o.created_at
      from service.work_orders o
      join service.assets a on a.id = o.asset_id
      join service.sites s on s.id = a.site_id
     where (%(region)s::text is null or s.region = %(region)s)
       and (%(site_id)s::bigint is null or s.id = %(site_id)s)
       and (%(customer_id)s::bigint is null or s.customer_id = %(customer_id)s)
       and (%(asset_model)s::text is null or a.model = %(asset_model)s)
       and (%(engineer_id)s::bigint is null or o.engineer_id = %(engineer_id)s)
)
"""

_ORDERS = f"""
with {_SCOPE},
firsts as (
    select e.work_order_id as id,
           min(e.at) filter (where e.to_status = 'accepted') as accepted_at,
           min(e.at) filter (where e.to_status = 'on_site') as on_site_at,
           min(e.at) filter (where e.to_status = 'completed') as completed_at,
           coalesce(bool_or(e.kind = 'reopened'
                            or (e.from_status in ('completed', 'closed')
                                and e.to_status not in ('completed', 'closed'))), false) as reopened
      from service.work_order_events e
     where e.work_order_id in (select id from scope)
       and (e.from_status is distinct from e.to_status or e.kind = 'reopened')
     group by e.work_order_id
),
orders as (
    select o.id, o.type, o.asset_id, o.created_at, f.accepted_at, f.on_site_at, f.completed_at,
           coalesce(f.reopened, false) as reopened,
           f.completed_at >= %(start)s and f.completed_at < %(end)s as completed_in_period,
           (select count(*) from service.visits v where v.work_order_id = o.id and v.status <> 'cancelled')
               as visits,
           (select count(*) from service.visits v
             where v.work_order_id = o.id and v.status <> 'cancelled' and v.outcome = 'fixed') as fixed_visits
      from scope o
      left join firsts f on f.id = o.id
)
select coalesce(array_agg(extract(epoch from accepted_at - created_at)::float8 order by id)
                    filter (where accepted_at >= %(start)s and accepted_at < %(end)s), '{{}}')
           as response_seconds,
       coalesce(array_agg(extract(epoch from completed_at - on_site_at)::float8 order by id)
                    filter (where completed_in_period and on_site_at <= completed_at), '{{}}')
           as repair_seconds,
       coalesce(array_agg(extract(epoch from completed_at - created_at)::float8 order by id)
                    filter (where completed_in_period), '{{}}')
           as resolve_seconds,
       count(*) filter (where completed_in_period and type <> 'preventive' and visits >= 1) as ftf_orders,
       count(*) filter (where completed_in_period and type <> 'preventive' and visits = 1 and fixed_visits = 1
                          and not reopened) as ftf_fixed,
       count(*) filter (where completed_in_period) as completed,
       count(*) filter (where completed_in_period
                          and (reopened
                               or exists (select 1 from service.work_orders n
                                           where n.asset_id = orders.asset_id and n.id <> orders.id
                                             and n.type <> 'preventive'
                                             and n.created_at > orders.completed_at
                                             and n.created_at <= orders.completed_at + interval '7 days')))
           as repeats,
       count(*) filter (where created_at >= %(start)s and created_at < %(end)s and type = 'preventive')
           as preventive,
       count(*) filter (where created_at >= %(start)s and created_at < %(end)s and type = 'repair') as corrective,
       coalesce((select jsonb_object_agg(t.type, t.n)
                   from (select type, count(*) as n from scope
                          where created_at >= %(start)s and created_at < %(end)s group by type) t), '{{}}')
           as by_type
  from orders
"""

# Labour of the visits checked in during the period on orders the site filters keep, per engineer.
_LABOUR = """
with labour as (
    select v.engineer_id, sum(v.labour_minutes)::int as minutes
      from service.visits v
      join service.work_orders o on o.id = v.work_order_id
      join service.assets a on a.id = o.asset_id
      join service.sites s on s.id = a.site_id
     where v.status <> 'cancelled' and v.labour_minutes is not null
       and v.check_in_at >= %(start)s and v.check_in_at < %(end)s
       and (%(region)s::text is null or s.region = %(region)s)
       and (%(site_id)s::bigint is null or s.id = %(site_id)s)
       and (%(customer_id)s::bigint is null or s.customer_id = %(customer_id)s)
       and (%(asset_model)s::text is null or a.model = %(asset_model)s)
     group by v.engineer_id
)
select e.id as engineer_id, e.name, e.work_days::int[] as work_days, e.work_start, e.work_end, e.timezone,
       coalesce(l.minutes, 0) as labour_minutes
  from service.engineers e
  left join labour l on l.engineer_id = e.id
 where (%(engineer_id)s::bigint is null or e.id = %(engineer_id)s)
   and (e.active or l.minutes > 0)
 order by e.id
"""

# Repair orders per model over the assets' time in service in the period (engineer filter not applied).
_FAILURES = """
with assets as (
    select a.id, a.model,
           greatest(0, extract(epoch from %(end)s::timestamptz - greatest(
               %(start)s::timestamptz, coalesce(a.installed_on::timestamp at time zone 'UTC', a.created_at))))
               as exposure_seconds
      from service.assets a
      join service.sites s on s.id = a.site_id
     where (%(region)s::text is null or s.region = %(region)s)
       and (%(site_id)s::bigint is null or s.id = %(site_id)s)
       and (%(customer_id)s::bigint is null or s.customer_id = %(customer_id)s)
       and (%(asset_model)s::text is null or a.model = %(asset_model)s)
)
select a.model as asset_model,
       (select count(*) from service.work_orders o
         where o.type = 'repair' and o.created_at >= %(start)s and o.created_at < %(end)s
           and o.asset_id in (select b.id from assets b where b.model = a.model))::int as orders,
       sum(a.exposure_seconds)::float8 as exposure_seconds
  from assets a
 group by a.model
 order by a.model
"""

_SURVEYS = f"""
with {_SCOPE}
select count(v.csat)::int as csat_answers,
       count(*) filter (where v.csat >= 4)::int as csat_satisfied,
       coalesce(sum(v.csat), 0)::int as csat_sum,
       count(v.nps)::int as nps_answers,
       count(*) filter (where v.nps >= 9)::int as promoters,
       count(*) filter (where v.nps <= 6)::int as detractors
  from service.surveys v
  join scope o on o.id = v.work_order_id
 where v.answered_at >= %(start)s and v.answered_at < %(end)s
"""


async def get_order_figures(conn: AsyncConnection, *, scope: Scope) -> OrderFigures:
    """Intervals and counts of the orders in scope (see the formulas)."""
    async with conn.cursor(row_factory=class_row(OrderFigures)) as cur:
        await cur.execute(_ORDERS, asdict(scope))
        return await cur.fetchone()


async def get_labour(conn: AsyncConnection, *, scope: Scope) -> list[EngineerLabour]:
    """Each listed engineer's working hours and the labour minutes they logged in the period."""
    async with conn.cursor(row_factory=class_row(EngineerLabour)) as cur:
        await cur.execute(_LABOUR, asdict(scope))
        return await cur.fetchall()


async def get_failures(conn: AsyncConnection, *, scope: Scope) -> list[ModelExposure]:
    """Repair orders and time in service per asset model."""
    async with conn.cursor(row_factory=class_row(ModelExposure)) as cur:
        await cur.execute(_FAILURES, asdict(scope))
        return await cur.fetchall()


async def get_survey_figures(conn: AsyncConnection, *, scope: Scope) -> SurveyFigures:
    """Counts of the survey answers received in the period."""
    async with conn.cursor(row_factory=class_row(SurveyFigures)) as cur:
        await cur.execute(_SURVEYS, asdict(scope))
        return await cur.fetchone()


# Orders whose clocks can settle in the period: created before its end and not completed or cancelled before
# its start (completion settles every clock: a later stage meets the earlier ones; cancelling stops them).
_ORDERS_OPEN_IN_PERIOD = f"""
with {_SCOPE}
select o.id from scope o
 where o.created_at < %(end)s
   and not exists (select 1 from service.work_order_events e
                    where e.work_order_id = o.id and e.to_status in ('completed', 'cancelled') and e.at < %(start)s)
 order by o.id
"""


async def get_sla_compliance(conn: AsyncConnection, *, scope: Scope, now: datetime | None = None) -> dict:
    """Per SLA clock, the clocks settled in the period and how many were met within target (see formulas)."""
    cur = await conn.execute(_ORDERS_OPEN_IN_PERIOD, asdict(scope))
    ids = [row[0] for row in await cur.fetchall()]
    as_of = min(scope.end, now or datetime.now(UTC))
    settled = []
    for sla in await sla_flows.orders_sla(conn, work_order_ids=ids, now=as_of):
        for clock in sla.clocks:
            if clock.met_at is not None:
                if scope.start <= clock.met_at < scope.end:
                    settled.append((clock.metric, clock.state == "met"))
            elif clock.state == "breached" and clock.due_at is not None and scope.start <= clock.due_at < scope.end:
                settled.append((clock.metric, False))
    return {metric: asdict(r) for metric, r in formulas.sla_compliance(settled, METRICS).items()}


async def get(conn: AsyncConnection, *, scope: Scope) -> dict:
    """Every KPI of the scope, with the counts behind each rate."""
    orders = await get_order_figures(conn, scope=scope)
    labour = await get_labour(conn, scope=scope)
    failures = await get_failures(conn, scope=scope)
    surveys = await get_survey_figures(conn, scope=scope)

    engineers = []
    for e in labour:
        scheduled = formulas.scheduled_minutes(
            work_days=e.work_days,
            work_start=e.work_start,
            work_end=e.work_end,
            timezone=e.timezone,
            start=scope.start,
            end=scope.end,
        )
        engineers.append({"engineer_id": e.engineer_id, "name": e.name, **_utilisation(e.labour_minutes, scheduled)})
    total_orders = sum(f.orders for f in failures)
    total_exposure = sum(f.exposure_seconds for f in failures)
    return {
        "response_time": formulas.durations(orders.response_seconds),
        "time_to_repair": formulas.durations(orders.repair_seconds),
        "time_to_resolve": formulas.durations(orders.resolve_seconds),
        "first_time_fix": formulas.ratio(orders.ftf_fixed, orders.ftf_orders),
        "repeat_visits": formulas.ratio(orders.repeats, orders.completed),
        "utilisation": {
            **_utilisation(sum(e["labour_minutes"] for e in engineers), sum(e["scheduled_minutes"] for e in engineers)),
            "engineers": engineers,
        },
        "failure_rate": {
            **_failure_rate(total_orders, total_exposure),
            "models": [{"asset_model": f.asset_model, **_failure_rate(f.orders, f.exposure_seconds)} for f in failures],
        },
        "order_mix": {
            "preventive": formulas.ratio(orders.preventive, orders.preventive + orders.corrective),
            "corrective": formulas.ratio(orders.corrective, orders.preventive + orders.corrective),
            "by_type": orders.by_type,
        },
        "csat": {
            **asdict(formulas.ratio(surveys.csat_satisfied, surveys.csat_answers)),
            "mean": round(surveys.csat_sum / surveys.csat_answers, 2) if surveys.csat_answers else None,
        },
        "nps": {
            "answers": surveys.nps_answers,
            "promoters": surveys.promoters,
            "detractors": surveys.detractors,
            "score": formulas.nps(surveys.promoters, surveys.detractors, surveys.nps_answers),
        },
        "sla": await get_sla_compliance(conn, scope=scope),
    }


def _utilisation(labour: int, scheduled: int) -> dict:
    share = formulas.ratio(labour, scheduled)
    return {"labour_minutes": labour, "scheduled_minutes": scheduled, "rate": share.rate}


def _failure_rate(orders: int, exposure_seconds: float) -> dict:
    return {
        "orders": orders,
        "asset_years": round(formulas.asset_years(exposure_seconds), 4),
        "rate": formulas.per_asset_year(orders, exposure_seconds),
    }
