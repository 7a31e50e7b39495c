"""The plan scheduler on the real database: generated orders and what they inherit, missed occurrences, meters
from real readings, and idempotency across calendar and meter triggers, also with two schedulers at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from service_core.plans import flows
from service_core.plans import service as plans
from service_core.plans.job import run_once, run_plan_job
from service_core.workorders import service as workorders
from tests.service_core.builders import a_site, an_asset, an_engineer
from tests.service_core.plan_builders import a_plan, running_readings, some_parts, today


async def _order_needs(conn: psycopg.AsyncConnection, work_order_id: int) -> tuple[list, list, list]:
    checklist = await (await conn.execute(
        "select position, label, required from service.checklist_items where work_order_id = %s order by position",
        (work_order_id,),
    )).fetchall()
    parts = await (await conn.execute(
        "select part_number, quantity::float8 from service.work_order_parts where work_order_id = %s"
        " order by part_number", (work_order_id,),
    )).fetchall()
    skills = await (await conn.execute(
        "select skill, min_level from service.work_order_skills where work_order_id = %s order by skill",
        (work_order_id,),
    )).fetchall()
    return checklist, parts, skills


@pytest.mark.asyncio
async def test_a_due_calendar_occurrence_opens_an_order_that_inherits_the_plan(aconn: psycopg.AsyncConnection) -> None:
    start = today() + timedelta(days=10)
    async with aconn.transaction():
        site = await a_site(aconn)
        await an_asset(aconn, site=site)
        await some_parts(aconn, "BRG-6205", "GREASE-1")
        plan = await a_plan(
            aconn, start_at=start, priority="high", duration_minutes=120,
            checklist=[{"label": "Bearing clearance measured"}, {"label": "Grease colour noted", "required": False}],
            parts=[{"part_number": "BRG-6205", "quantity": 2}, {"part_number": "GREASE-1", "quantity": 0.5}],
            skills=[{"skill": "mechanical", "min_level": 4}, {"skill": "electrical", "min_level": 2}],
        )
        too_early = await flows.run(aconn, now=start - timedelta(days=7, seconds=1), actor="plans")
        result = await flows.run(aconn, now=start - timedelta(days=6), actor="plans")

    assert too_early.generated == [] and too_early.missed == [] and too_early.failed == []
    (occurrence,) = result.generated
    assert result.missed == [] and result.failed == []
    assert (occurrence.plan_id, occurrence.asset_id, occurrence.occurrence_key) == (
        plan.id, "pump-001", start.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    order = await workorders.get(aconn, work_order_id=occurrence.work_order_id)
    assert (order.type, order.failure_mode, order.priority) == ("preventive", "bearing_wear", "high")
    assert order.status == "new"
    assert (order.window_start, order.window_end, order.due_at) == (start, start + timedelta(days=5),
                                                                     start + timedelta(days=5))
    assert order.duration_minutes == 120 and order.title == "Quarterly bearing service on pump-001"
    events = await workorders.get_events(aconn, work_order_id=order.id)
    assert [(e.kind, e.actor) for e in events] == [("created", "plans")]

    checklist, parts, skills = await _order_needs(aconn, order.id)
    template = await (await aconn.execute(
        "select count(*) from service.checklist_templates where order_type = 'preventive'"
    )).fetchone()
    assert len(checklist) == template[0] + 2
    assert checklist[-2:] == [(template[0] + 1, "Bearing clearance measured", True),
                              (template[0] + 2, "Grease colour noted", False)]
    assert parts == [("BRG-6205", 2.0), ("GREASE-1", 0.5)]
    assert skills == [("electrical", 2), ("mechanical", 4)]

    async with aconn.transaction():
        again = await flows.run(aconn, now=start - timedelta(days=5), actor="plans")
    assert again.generated == [] and again.missed == []
    assert len(await plans.get_occurrences(aconn, plan_id=plan.id)) == 1


@pytest.mark.asyncio
async def test_missed_occurrences_are_logged_with_the_reason(aconn: psycopg.AsyncConnection) -> None:
    start = today() + timedelta(days=1)
    async with aconn.transaction():
        site = await a_site(aconn)
        await an_asset(aconn, site=site)
        plan = await a_plan(aconn, start_at=start, interval_days=30, lead_days=7, window_days=5)
        # the scheduler was down for 85 days: three windows passed unseen, the fourth is within its lead
        down = await flows.run(aconn, now=start + timedelta(days=84), actor="plans")
    assert [(o.occurrence_key[:10], o.status, o.reason) for o in down.missed + down.generated] == [
        ((start + timedelta(days=d)).strftime("%Y-%m-%d"), status, reason)
        for d, status, reason in [(0, "missed", "window_passed"), (30, "missed", "window_passed"),
                                  (60, "missed", "window_passed"), (90, "generated", None)]
    ]
    assert all(o.work_order_id is None for o in down.missed)
    open_order = down.generated[0].work_order_id

    async with aconn.transaction():
        waiting = await flows.run(aconn, now=start + timedelta(days=119), actor="plans")  # in the lead of day 120
        blocked = await flows.run(aconn, now=start + timedelta(days=120), actor="plans")
    assert waiting.generated == [] and waiting.missed == []
    (missed,) = blocked.missed
    assert (missed.reason, missed.blocking_work_order_id, missed.due_at) == (
        "previous_order_open", open_order, start + timedelta(days=120)
    )
    listed = await plans.get_occurrences(aconn, plan_id=plan.id)
    assert [o.status for o in listed] == ["missed", "missed", "missed", "generated", "missed"]
    orders = await workorders.get_all(aconn, asset_id="pump-001")
    assert [o.id for o in orders] == [open_order]


@pytest.mark.asyncio
async def test_an_open_detector_order_for_the_failure_mode_blocks_the_plan(aconn: psycopg.AsyncConnection) -> None:
    start = today() + timedelta(days=3)
    async with aconn.transaction():
        site = await a_site(aconn)
        await an_asset(aconn, site=site)
        detector = await workorders.insert(aconn, asset_id="pump-001", type="preventive", failure_mode="bearing_wear",
                                           title="Preventive: bearing wear on pump-001", actor="detector")
        await a_plan(aconn, start_at=start)
        result = await flows.run(aconn, now=start, actor="plans")
    (missed,) = result.missed
    assert (missed.reason, missed.blocking_work_order_id, missed.work_order_id) == (
        "order_already_open", detector.id, None
    )


@pytest.mark.asyncio
async def test_floating_plan_follows_the_last_completion(aconn: psycopg.AsyncConnection) -> None:
    start = today() + timedelta(days=2)
    async with aconn.transaction():
        site = await a_site(aconn)
        await an_asset(aconn, site=site)
        engineer = await an_engineer(aconn)
        plan = await a_plan(aconn, order_type="inspection", failure_mode=None, trigger="floating", start_at=start,
                            interval_days=10, lead_days=3, window_days=4)
        (first,) = (await flows.run(aconn, now=start - timedelta(days=3), actor="plans")).generated
        assert (await flows.run(aconn, now=start + timedelta(days=30), actor="plans")).generated == []  # still open
        order_id = first.work_order_id
        await workorders.assign(aconn, work_order_id=order_id, engineer_id=engineer.id, actor="desk")
        for target in ["accepted", "en_route", "on_site", "in_progress", "completed"]:
            await workorders.transition(aconn, work_order_id=order_id, target=target, actor="eva")
        done = await workorders.completed_at(aconn, work_order_id=order_id)
        before = await flows.run(aconn, now=done + timedelta(days=7) - timedelta(seconds=1), actor="plans")
        (second,) = (await flows.run(aconn, now=done + timedelta(days=7), actor="plans")).generated
        again = await flows.run(aconn, now=done + timedelta(days=8), actor="plans")

    assert first.due_at == start and before.generated == [] and again.generated == []
    assert second.due_at == done + timedelta(days=10)
    order = await workorders.get(aconn, work_order_id=second.work_order_id)
    assert (order.type, order.failure_mode, order.window_end) == ("inspection", None, done + timedelta(days=14))
    assert [o.status for o in await plans.get_occurrences(aconn, plan_id=plan.id)] == ["generated", "generated"]


@pytest.mark.asyncio
async def test_meter_plans_count_real_readings_incrementally(aconn: psycopg.AsyncConnection) -> None:
    t0 = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)
    async with aconn.transaction():
        site = await a_site(aconn)
        await an_asset(aconn, site=site)
        hours = await a_plan(aconn, name="Seal check every hour run", trigger="meter", interval_days=None,
                             start_at=None, meter_kind="run_hours", meter_metric="speed_rpm", running_above=5,
                             meter_interval=1.0, failure_mode="seal_leak")
        cycles = await a_plan(aconn, name="Starter check every 3 starts", order_type="inspection", failure_mode=None,
                              trigger="meter", interval_days=None, start_at=None, meter_kind="cycles",
                              meter_metric="speed_rpm", running_above=5, meter_interval=3)
        # 50 minutes running, then off for 10: 50 run minutes and no start (nothing before the first reading)
        await running_readings(aconn, asset_id="pump-001", start=t0, rpm=[1480.0] * 50 + [0.0] * 10)
        first = await flows.run(aconn, now=t0 + timedelta(hours=1), actor="plans")
    meters = {m.kind: m for m in await plans.get_meters(aconn, asset_id="pump-001")}
    assert meters["run_hours"].value == pytest.approx(50 / 60)
    assert meters["cycles"].value == 0
    assert meters["run_hours"].computed_until == t0 + timedelta(minutes=59)
    assert first.generated == [] and first.meters_advanced == 2

    async with aconn.transaction():
        # off, then three starts of 10 readings each: 29 more run minutes (the last start's time after its last
        # reading is not known yet), three cycles
        rpm = ([0.0] * 5 + [1500.0] * 10) * 3
        await running_readings(aconn, asset_id="pump-001", start=t0 + timedelta(hours=1), rpm=rpm)
        second = await flows.run(aconn, now=t0 + timedelta(hours=2), actor="plans")
        third = await flows.run(aconn, now=t0 + timedelta(hours=2), actor="plans")
    meters = {m.kind: m for m in await plans.get_meters(aconn, asset_id="pump-001")}
    assert meters["run_hours"].value == pytest.approx(79 / 60)
    assert meters["cycles"].value == 3
    assert sorted((o.plan_id, o.occurrence_key) for o in second.generated) == [
        (hours.id, "meter:1"), (cycles.id, "meter:1")
    ]
    assert third.generated == [] and third.meters_advanced == 0
    by_plan = {o.plan_id: o for o in second.generated}
    assert by_plan[hours.id].meter_value == pytest.approx(meters["run_hours"].value)
    order = await workorders.get(aconn, work_order_id=by_plan[cycles.id].work_order_id)
    assert order.type == "inspection" and order.title == "Starter check every 3 starts on pump-001"


@pytest.mark.asyncio
async def test_two_schedulers_at_once_generate_each_occurrence_once(
    aconn: psycopg.AsyncConnection, pool: AsyncConnectionPool
) -> None:
    t0 = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    start = today() + timedelta(days=2)
    async with aconn.transaction():
        site = await a_site(aconn)
        assets = [f"pump-{i:03d}" for i in range(1, 7)]
        for asset_id in assets:
            await an_asset(aconn, site=site, asset_id=asset_id)
            await running_readings(aconn, asset_id=asset_id, start=t0, rpm=[1500.0] * 90)
        calendar = await a_plan(aconn, asset_id=None, asset_model="CP-200", start_at=start)
        meter = await a_plan(aconn, asset_id=None, asset_model="CP-200", name="Hourly", order_type="inspection",
                             failure_mode=None, trigger="meter", interval_days=None, start_at=None,
                             meter_kind="run_hours", meter_metric="speed_rpm", running_above=5, meter_interval=1.0)

    now = datetime.now(UTC) + timedelta(days=1)
    for _ in range(3):  # several rounds: the later ones race over occurrences that exist already
        results = await asyncio.gather(*(run_once(pool, now=now) for _ in range(3)))
        assert all(r.failed == [] for r in results)
    counts = await (await aconn.execute(
        "select plan_id, count(*), count(distinct asset_id), count(work_order_id) from service.plan_occurrences"
        " group by plan_id order by plan_id"
    )).fetchall()
    assert counts == [(calendar.id, 6, 6, 6), (meter.id, 6, 6, 6)]
    (orders,) = await (await aconn.execute("select count(*) from service.work_orders")).fetchone()
    assert orders == 12
    meters = await (await aconn.execute("select value from service.asset_meters order by asset_id")).fetchall()
    assert [round(v * 60, 6) for (v,) in meters] == [89.0] * 6  # 90 readings a minute apart: counted once


@pytest.mark.asyncio
async def test_the_job_runs_the_scheduler_until_stopped(
    aconn: psycopg.AsyncConnection, pool: AsyncConnectionPool
) -> None:
    start = today() + timedelta(days=2)
    async with aconn.transaction():
        site = await a_site(aconn)
        await an_asset(aconn, site=site)
        plan = await a_plan(aconn, start_at=start)
    stop = asyncio.Event()
    job = asyncio.create_task(run_plan_job(pool, stop=stop, every_s=0.05, clock=lambda: start))
    try:
        async with asyncio.timeout(5):
            while not await plans.get_occurrences(aconn, plan_id=plan.id):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(job, timeout=2)
    (occurrence,) = await plans.get_occurrences(aconn, plan_id=plan.id)
    assert occurrence.status == "generated" and occurrence.recorded_by == "plans"
