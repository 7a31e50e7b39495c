"""Condition plans: the detector's preventive order inherits the plan's checklist, parts, skills and time on site."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from maintenance import store as maintenance_store
from service_core.plans import flows
from service_core.plans import service as plans
from service_core.workorders import service as workorders
from service_core.workorders.flows import open_preventive_order
from tests.service_core.builders import a_site, an_alert, an_asset, an_engineer
from tests.service_core.plan_builders import a_plan, some_parts

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


async def _condition_plans(conn: psycopg.AsyncConnection) -> tuple[int, int]:
    await some_parts(conn, "BRG-6205", "SEAL-40")
    bearing = await a_plan(
        conn, name="Bearing replacement", asset_id=None, asset_model="CP-200", trigger="condition",
        interval_days=None, start_at=None, duration_minutes=150,
        checklist=[{"label": "Both bearings replaced"}, {"label": "Run-in vibration below 2.8 mm/s"}],
        parts=[{"part_number": "BRG-6205", "quantity": 2}],
        skills=[{"skill": "mechanical", "min_level": 3}, {"skill": "controls", "min_level": 1}],
    )
    seal = await a_plan(
        conn, name="Seal kit", asset_id="pump-001", failure_mode="seal_leak", trigger="condition",
        interval_days=None, start_at=None, parts=[{"part_number": "SEAL-40", "quantity": 1}],
    )
    return bearing.id, seal.id


@pytest.mark.asyncio
async def test_a_detector_order_inherits_the_condition_plan(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        site = await a_site(aconn)
        await an_asset(aconn, site=site)
        await an_engineer(aconn, skills={"mechanical": 4, "controls": 2})
        bearing_plan, seal_plan = await _condition_plans(aconn)
        alert = an_alert(failure_mode="bearing_wear")
        opened = await open_preventive_order(
            aconn, alert=alert, alert_id=await maintenance_store.record_alert(aconn, alert), now=NOW
        )

    assert opened is not None
    order = await workorders.get(aconn, work_order_id=opened.work_order_id)
    assert order.duration_minutes == 150
    labels = await (await aconn.execute(
        "select label from service.checklist_items where work_order_id = %s order by position", (order.id,)
    )).fetchall()
    assert [r[0] for r in labels[-2:]] == ["Both bearings replaced", "Run-in vibration below 2.8 mm/s"]
    parts = await (await aconn.execute(
        "select part_number, quantity::float8 from service.work_order_parts where work_order_id = %s", (order.id,)
    )).fetchall()
    assert ("BRG-6205", 2.0) in parts and all(p != "SEAL-40" for p, _ in parts)
    skills = await (await aconn.execute(
        "select skill, min_level from service.work_order_skills where work_order_id = %s order by skill", (order.id,)
    )).fetchall()
    assert skills == [("controls", 1), ("mechanical", 3)]
    (occurrence,) = await plans.get_occurrences(aconn, plan_id=bearing_plan)
    assert (occurrence.occurrence_key, occurrence.status, occurrence.work_order_id) == (
        f"order:{order.id}", "generated", order.id
    )
    assert await plans.get_occurrences(aconn, plan_id=seal_plan) == []
    events = await workorders.get_events(aconn, work_order_id=order.id)
    assert any(e.kind == "updated" and e.details["after"] == {"duration_minutes": 150} for e in events)


@pytest.mark.asyncio
async def test_applying_twice_adds_nothing_and_the_scheduler_leaves_condition_plans_alone(
    aconn: psycopg.AsyncConnection,
) -> None:
    async with aconn.transaction():
        site = await a_site(aconn)
        await an_asset(aconn, site=site)
        bearing_plan, _ = await _condition_plans(aconn)
        order = await workorders.insert(aconn, asset_id="pump-001", type="preventive", failure_mode="bearing_wear",
                                        title="Preventive: bearing wear on pump-001", actor="detector")
        once = await flows.apply_condition_plans(aconn, order=order, actor="detector")
        twice = await flows.apply_condition_plans(aconn, order=once, actor="detector")
        run = await flows.run(aconn, now=NOW, actor="plans")

    assert twice.duration_minutes == once.duration_minutes == 150
    (count,) = await (await aconn.execute(
        "select count(*) from service.checklist_items where work_order_id = %s and label = 'Both bearings replaced'",
        (order.id,),
    )).fetchone()
    assert count == 1
    assert len(await plans.get_occurrences(aconn, plan_id=bearing_plan)) == 1
    assert run.generated == [] and run.missed == []
