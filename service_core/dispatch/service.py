"""Loads what dispatch weighs from the database: engineers (load, territories, vans), orders and their needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from psycopg.rows import class_row

from service_core.dispatch import planner, scoring
from service_core.dispatch.models import AssetLocation, EngineerLoad, OrderNeeds
from service_core.errors import NotFound, Unprocessable
from service_core.sla import flows as sla_flows
from service_core.workorders.states import LOAD

# Transfers into a van that count as coming: approved or already on the road.
INCOMING = ("approved", "in_transit")
RUNNING_CLOCKS = ("running", "warning", "breached")
# Orders a day plan may place: not started, and without a visit already planned or under way.
PLANNABLE = ("new", "assigned")

_ENGINEERS = """
select e.id, e.name, e.active,
       coalesce((select jsonb_object_agg(k.skill, k.level) from service.engineer_skills k
                  where k.engineer_id = e.id), '{}'::jsonb) as skills,
       e.home_lat, e.home_lon, e.work_days, e.work_start, e.work_end, e.timezone,
       (select count(*) from service.work_orders w
         where w.engineer_id = e.id and w.status = any(%(load)s::text[]))::int as open_orders,
       array(select t.region from service.engineer_territories t where t.engineer_id = e.id
              order by t.region) as territories,
       coalesce((select sum(w.duration_minutes) from service.visits v
                   join service.work_orders w on w.id = v.work_order_id
                  where v.engineer_id = e.id and v.status = 'planned'
                    and (v.planned_at at time zone e.timezone)::date = %(day)s::date), 0)::int as planned_minutes,
       coalesce((select jsonb_object_agg(l.part_number, l.on_hand - l.reserved)
                   from service.stock_levels l join service.stock_locations s on s.id = l.location_id
                  where s.kind = 'van' and s.engineer_id = e.id), '{}'::jsonb) as van,
       coalesce((select jsonb_agg(jsonb_build_object('part_number', t.part_number, 'quantity', t.quantity,
                                                     'expected_at', t.expected_at) order by t.id)
                   from service.stock_transfers t join service.stock_locations s on s.id = t.to_location_id
                  where s.kind = 'van' and s.engineer_id = e.id and t.status = any(%(incoming)s::text[])),
                '[]'::jsonb) as incoming
  from service.engineers e
 order by e.id
"""

_ORDER_NEEDS = """
select w.id, w.status, w.type, w.priority, w.engineer_id, w.failure_mode, w.window_start, w.window_end,
       w.duration_minutes, s.lat, s.lon, s.region, c.preferred_engineer_id,
       coalesce((select jsonb_object_agg(k.skill, k.min_level) from service.work_order_skills k
                  where k.work_order_id = w.id), '{}'::jsonb) as skills,
       coalesce((select jsonb_object_agg(p.part_number, p.quantity) from service.work_order_parts p
                  where p.work_order_id = w.id), '{}'::jsonb) as parts
  from service.work_orders w
  join service.assets a on a.id = w.asset_id
  join service.sites s on s.id = a.site_id
  join service.customers c on c.id = s.customer_id
"""


@dataclass(frozen=True, slots=True)
class Assessment:
    """Who can take an order (best first) and who cannot (with the hard constraint that rules them out)."""

    job: scoring.Job
    ranked: list[scoring.Ranked]
    excluded: list[scoring.Excluded]


def _candidate(r: EngineerLoad) -> scoring.Candidate:
    return scoring.Candidate(
        engineer_id=r.id,
        name=r.name,
        active=r.active,
        skills=r.skills,
        home=(r.home_lat, r.home_lon),
        shift=scoring.Shift(days=frozenset(r.work_days), start=r.work_start, end=r.work_end, timezone=r.timezone),
        open_orders=r.open_orders,
        territories=frozenset(r.territories),
        planned_minutes=r.planned_minutes,
        van={part: float(q) for part, q in r.van.items()},
        incoming=tuple(
            scoring.Incoming(
                i["part_number"], float(i["quantity"]),
                datetime.fromisoformat(i["expected_at"]) if i["expected_at"] else None,
            )
            for i in r.incoming
        ),
    )


async def get_engineer_loads(conn: AsyncConnection, *, day: date) -> list[EngineerLoad]:
    """Every engineer with skills, open orders, territories, minutes planned on ``day``, van stock and transfers."""
    async with conn.cursor(row_factory=class_row(EngineerLoad)) as cur:
        await cur.execute(_ENGINEERS, {"load": sorted(LOAD), "day": day, "incoming": list(INCOMING)})
        return await cur.fetchall()


async def get_candidates(conn: AsyncConnection, *, day: date | None = None) -> list[scoring.Candidate]:
    """Every engineer as dispatch sees them (planned minutes counted on ``day``, today by default)."""
    return [_candidate(r) for r in await get_engineer_loads(conn, day=day or datetime.now(UTC).date())]


async def get_asset_location(conn: AsyncConnection, *, asset_id: str) -> AssetLocation:
    """Where the asset's site is."""
    async with conn.cursor(row_factory=class_row(AssetLocation)) as cur:
        await cur.execute(
            """
            select a.id as asset_id, s.lat, s.lon
              from service.assets a join service.sites s on s.id = a.site_id
             where a.id = %(id)s
            """,
            {"id": asset_id},
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"asset {asset_id!r} not found")
    return row


async def get_order_needs(conn: AsyncConnection, *, work_order_id: int) -> OrderNeeds:
    """The order's place, window, duration, skills and parts, or NotFound."""
    async with conn.cursor(row_factory=class_row(OrderNeeds)) as cur:
        await cur.execute(_ORDER_NEEDS + " where w.id = %(id)s", {"id": work_order_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"work order {work_order_id} not found")
    return row


async def get_plannable_orders(conn: AsyncConnection, *, start: datetime, end: datetime) -> list[OrderNeeds]:
    """Open orders not yet under way, without a live visit, whose window (if any) overlaps [start, end)."""
    async with conn.cursor(row_factory=class_row(OrderNeeds)) as cur:
        await cur.execute(
            _ORDER_NEEDS
            + """
             where w.status = any(%(plannable)s::text[])
               and not exists (select 1 from service.visits v
                                where v.work_order_id = w.id and v.status in ('planned', 'checked_in'))
               and (w.window_start is null or w.window_start < %(end)s)
               and (w.window_end is null or w.window_end > %(start)s)
             order by w.id
            """,
            {"plannable": list(PLANNABLE), "start": start, "end": end},
        )
        return await cur.fetchall()


async def sla_slack(conn: AsyncConnection, *, work_order_id: int, at: datetime) -> timedelta | None:
    """Time left before the order's nearest running SLA target (negative once breached); None without one."""
    sla = await sla_flows.order_sla(conn, work_order_id=work_order_id, now=at)
    due = [c.due_at for c in sla.clocks if c.state in RUNNING_CLOCKS and c.due_at is not None]
    return min(due) - at if due else None


def job_for(needs: OrderNeeds, *, at: datetime, slack: timedelta | None) -> scoring.Job:
    """The scoring job of an order: its own skills, else its failure mode's."""
    return scoring.Job(
        skill=scoring.FAILURE_MODE_SKILL.get(needs.failure_mode or "unknown"),
        site=(needs.lat, needs.lon),
        at=at,
        skills=needs.skills,
        region=needs.region,
        window_start=needs.window_start,
        window_end=needs.window_end,
        duration=timedelta(minutes=needs.duration_minutes),
        parts={p: float(q) for p, q in needs.parts.items()},
        preferred_engineer_id=needs.preferred_engineer_id,
        sla_slack=slack,
    )


async def assess_order(
    conn: AsyncConnection, *, work_order_id: int, at: datetime, weights: scoring.Weights = scoring.Weights()
) -> Assessment:
    """Every engineer for this order at ``at``: eligible ones ranked, the others with their reason."""
    needs = await get_order_needs(conn, work_order_id=work_order_id)
    job = job_for(needs, at=at, slack=await sla_slack(conn, work_order_id=work_order_id, at=at))
    candidates = await get_candidates(conn, day=job.earliest.date())
    return Assessment(job, scoring.rank(candidates, job, weights), scoring.excluded(candidates, job, weights))


async def rank_for_asset(
    conn: AsyncConnection,
    *,
    asset_id: str,
    failure_mode: str,
    at: datetime,
    weights: scoring.Weights = scoring.Weights(),
) -> list[scoring.Ranked]:
    """Engineers who can take this failure of this asset at ``at``, best first."""
    if failure_mode not in scoring.FAILURE_MODE_SKILL:
        raise Unprocessable(f"unknown failure mode {failure_mode!r}")
    location = await get_asset_location(conn, asset_id=asset_id)
    job = scoring.Job.for_failure(failure_mode, site=(location.lat, location.lon), at=at)
    return scoring.rank(await get_candidates(conn, day=at.date()), job, weights)


@dataclass(frozen=True, slots=True)
class Day:
    """A day's planning problem: minutes count from ``origin`` (midnight UTC of the day)."""

    origin: datetime
    engineers: list[planner.Engineer]
    orders: list[planner.Order]

    def at(self, minutes: int) -> datetime:
        return self.origin + timedelta(minutes=minutes)


def _minutes(origin: datetime, at: datetime) -> int:
    return round((at - origin).total_seconds() / 60)


async def load_day(conn: AsyncConnection, *, day: date) -> Day:
    """Engineers working on ``day`` (their local date) and the open orders that can be visited that day."""
    origin = datetime.combine(day, time(0), tzinfo=UTC)
    engineers = []
    for r in await get_engineer_loads(conn, day=day):
        if not r.active or day.isoweekday() not in r.work_days:
            continue
        tz = ZoneInfo(r.timezone)
        start = datetime.combine(day, r.work_start, tzinfo=tz).astimezone(UTC)
        van = {part: float(q) for part, q in r.van.items()}
        for i in r.incoming:  # a transfer counts when it reaches the van before the day starts
            if i["expected_at"] and datetime.fromisoformat(i["expected_at"]) <= start:
                van[i["part_number"]] = van.get(i["part_number"], 0.0) + float(i["quantity"])
        shift_end = _minutes(origin, datetime.combine(day, r.work_end, tzinfo=tz).astimezone(UTC))
        if shift_end <= 0:
            continue
        engineers.append(planner.Engineer(
            engineer_id=r.id,
            home=(r.home_lat, r.home_lon),
            start=max(0, _minutes(origin, start)),
            end=shift_end,
            skills=r.skills,
            territories=frozenset(r.territories),
            van=van,
        ))
    orders = []
    for o in await get_plannable_orders(conn, start=origin - timedelta(hours=14), end=origin + timedelta(hours=38)):
        job = job_for(o, at=origin, slack=None)
        orders.append(planner.Order(
            work_order_id=o.id,
            site=(o.lat, o.lon),
            region=o.region,
            skills=job.requirements,
            duration=o.duration_minutes,
            window_start=max(0, _minutes(origin, o.window_start)) if o.window_start else None,
            window_end=_minutes(origin, o.window_end) if o.window_end else None,
            parts=job.parts,
            priority=o.priority,
            engineer_id=o.engineer_id if o.status == "assigned" else None,
        ))
    return Day(origin=origin, engineers=engineers, orders=orders)
