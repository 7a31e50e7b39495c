"""The escalation job: warnings and breaches recorded once, rules fire once per order (also when two
evaluators run at the same moment), a late resolution raises the priority, a complaint goes to second line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from service_core.sla import flows
from service_core.sla import service as sla_service
from service_core.sla.job import run_sla_job
from service_core.workorders import service as workorders
from tests.service_core.sla_helpers import a_fleet, a_supervisor, an_order, events_of, move

MONDAY_8 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
RULES = {
    "warn": "Warn the supervisor at 80 % of the response time",
    "raise": "Raise the priority when the resolution time is breached",
    "silent": "No response for 24 h: notify the supervisor",
    "complaint": "A complaint at risk of a late response goes to second-line support",
}


async def _rule_ids(conn: psycopg.AsyncConnection) -> dict[str, int]:
    by_name = {r.name: r.id for r in await sla_service.get_rules(conn)}
    return {key: by_name[name] for key, name in RULES.items()}


async def _notifications(conn: psycopg.AsyncConnection) -> list[tuple[str, dict]]:
    cur = await conn.execute("select topic, payload from service.notifications order by id")
    return await cur.fetchall()


async def _unanswered_order(conn: psycopg.AsyncConnection) -> tuple[int, int]:
    """A normal repair opened Monday 08:00 and never accepted; a first-line supervisor of its region."""
    async with conn.transaction():
        asset_id, _, _ = await a_fleet(conn)
        order_id = await an_order(conn, asset_id=asset_id, created_at=MONDAY_8)
        supervisor_id = await a_supervisor(conn, name="Saskia")
        await a_supervisor(conn, name="Elsewhere", region="BE-BRU")
    return order_id, supervisor_id


@pytest.mark.asyncio
async def test_each_rule_and_each_crossing_happens_once(aconn: psycopg.AsyncConnection) -> None:
    order_id, supervisor_id = await _unanswered_order(aconn)
    rule = await _rule_ids(aconn)
    # Monday 14:30: 390 of 480 business minutes (81 %) of the response target
    async with aconn.transaction():
        first = await flows.evaluate(aconn, now=MONDAY_8 + timedelta(hours=6, minutes=30))
    assert (first.warnings, first.breaches, first.firings) == (1, 0, 1)
    assert [f.rule_id for f in await sla_service.get_firings(aconn, work_order_id=order_id)] == [rule["warn"]]
    [(topic, payload)] = await _notifications(aconn)
    assert topic == f"fleetcare/supervisors/{supervisor_id}/escalations"
    assert payload["work_order_id"] == order_id and payload["rule"]["id"] == rule["warn"]
    assert payload["clocks"][0]["state"] == "warning"

    async with aconn.transaction():
        again = await flows.evaluate(aconn, now=MONDAY_8 + timedelta(hours=7))
    assert (again.warnings, again.breaches, again.firings) == (0, 0, 0)
    assert len(await _notifications(aconn)) == 1

    # Wednesday 09:00: 24 h on the wall clock without a response, and the response target breached
    async with aconn.transaction():
        later = await flows.evaluate(aconn, now=MONDAY_8 + timedelta(days=2, hours=1))
    assert (later.warnings, later.breaches, later.firings) == (0, 1, 1)
    assert [f.rule_id for f in await sla_service.get_firings(aconn, work_order_id=order_id)] == [
        rule["warn"], rule["silent"]
    ]
    assert len(await _notifications(aconn)) == 2
    assert [e[2]["metric"] for e in await events_of(aconn, order_id, "sla_warning")] == ["response"]
    assert [e[2]["metric"] for e in await events_of(aconn, order_id, "sla_breached")] == ["response"]
    escalated = await events_of(aconn, order_id, "escalated")
    assert [e[2]["rule_id"] for e in escalated] == [rule["warn"], rule["silent"]]
    assert all(e[2]["notified"] == [supervisor_id] for e in escalated)


@pytest.mark.asyncio
async def test_two_evaluators_at_the_same_moment_fire_each_rule_once(db_url: str, aconn: psycopg.AsyncConnection
                                                                     ) -> None:
    order_id, _ = await _unanswered_order(aconn)
    now = MONDAY_8 + timedelta(days=2, hours=1)  # the warning, the breach and 24 h silent, all at once
    both_inside = asyncio.Barrier(2)

    async def evaluator() -> flows.Evaluation:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            async with conn.transaction():
                await conn.execute("select 1")
                await both_inside.wait()  # both transactions are under way before either evaluates
                result = await flows.evaluate(conn, now=now)
                await asyncio.sleep(0.2)  # hold the claims uncommitted while the other one meets them
            return result

    results = await asyncio.gather(evaluator(), evaluator())
    assert sorted(r.firings for r in results) == [0, 2]
    assert sum(r.warnings for r in results) == sum(r.breaches for r in results) == 1
    assert len(await sla_service.get_firings(aconn, work_order_id=order_id)) == 2
    assert len(await _notifications(aconn)) == 2
    assert len(await events_of(aconn, order_id, "escalated")) == 2
    assert len(await events_of(aconn, order_id, "sla_breached")) == 1


@pytest.mark.asyncio
async def test_a_breached_resolution_raises_the_priority_once(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        asset_id, engineer_id, _ = await a_fleet(aconn)
        order_id = await an_order(aconn, asset_id=asset_id, created_at=MONDAY_8)
        await move(aconn, order_id, "assigned", at=MONDAY_8 + timedelta(minutes=10), engineer_id=engineer_id)
        await move(aconn, order_id, "accepted", at=MONDAY_8 + timedelta(minutes=20))
    # normal resolution target: 2700 business minutes = 5 working days; the next Monday 09:00 is past it
    now = MONDAY_8 + timedelta(days=7, hours=1)
    async with aconn.transaction():
        await flows.evaluate(aconn, now=now)
    order = await workorders.get(aconn, work_order_id=order_id)
    assert order.priority == "high"
    cur = await aconn.execute(
        "select actor, before, after from service.audit_log where table_name = 'work_orders' and row_id = %(id)s"
        " and action = 'update' and after ? 'priority'", {"id": str(order_id)},
    )
    assert await cur.fetchall() == [("sla", {"priority": "normal"}, {"priority": "high"})]
    [updated] = await events_of(aconn, order_id, "updated")
    assert updated[2]["after"] == {"priority": "high"} and "Raise the priority" in updated[1]

    async with aconn.transaction():  # still breached under the high policy, but the rule has fired
        await flows.evaluate(aconn, now=now + timedelta(days=3))
    assert (await workorders.get(aconn, work_order_id=order_id)).priority == "high"
    sla = await flows.order_sla(aconn, work_order_id=order_id, now=now)
    assert sla.policy.name == "Default, high" and sla.clocks[0].state == "met"


@pytest.mark.asyncio
async def test_a_complaint_at_risk_goes_to_second_line_and_its_supervisor_is_told(
    aconn: psycopg.AsyncConnection,
) -> None:
    async with aconn.transaction():
        asset_id, _, _ = await a_fleet(aconn)
        order_id = await an_order(aconn, asset_id=asset_id, created_at=MONDAY_8, type="complaint")
        first_line = await a_supervisor(aconn, name="Saskia", support_line=1)
        second_line = await a_supervisor(aconn, name="Bram", support_line=2)
    sla = await flows.order_sla(aconn, work_order_id=order_id, now=MONDAY_8)
    assert sla.policy.name == "Complaint, normal" and [c.metric for c in sla.clocks] == ["response", "resolution"]

    async with aconn.transaction():  # 60 of the complaint's 120 minutes: nothing yet
        quiet = await flows.evaluate(aconn, now=MONDAY_8 + timedelta(hours=1))
    assert quiet.firings == 0 and (await workorders.get(aconn, work_order_id=order_id)).support_line == 1

    async with aconn.transaction():  # 100 of 120 minutes: at risk
        await flows.evaluate(aconn, now=MONDAY_8 + timedelta(minutes=100))
    assert (await workorders.get(aconn, work_order_id=order_id)).support_line == 2
    topics = [t for t, _ in await _notifications(aconn)]
    assert topics == [f"fleetcare/supervisors/{first_line}/escalations",
                      f"fleetcare/supervisors/{second_line}/escalations"]
    escalated = await events_of(aconn, order_id, "escalated")
    assert escalated[-1][2]["support_line"] == {"before": 1, "after": 2}
    assert escalated[-1][2]["notified"] == [second_line]
    cur = await aconn.execute(
        "select actor, after from service.audit_log where table_name = 'work_orders' and row_id = %(id)s"
        " and action = 'update' and after ? 'support_line'", {"id": str(order_id)},
    )
    assert await cur.fetchall() == [("sla", {"support_line": 2})]


@pytest.mark.asyncio
async def test_the_rules_scope_and_a_business_time_condition(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        asset_id, _, _ = await a_fleet(aconn)
        order_id = await an_order(aconn, asset_id=asset_id, created_at=MONDAY_8, priority="low")
        await aconn.execute("update service.sla_escalation_rules set active = false")
        cur = await aconn.execute(
            """
            insert into service.sla_escalation_rules (name, condition, hours, clock, priority, region, action)
            values ('Low orders unresolved for two working days', 'not_resolved_for', 18, 'business', 'low', 'NL-ZH',
                    'raise_priority'),
                   ('Only in Brussels', 'not_resolved_for', 1, 'wall', null, 'BE-BRU', 'raise_priority')
            returning id
            """
        )
        local_rule = (await cur.fetchone())[0]
    async with aconn.transaction():  # Tuesday 17:00 is 18 business hours; 33 wall-clock hours are not enough
        early = await flows.evaluate(aconn, now=MONDAY_8 + timedelta(days=1, hours=8, minutes=59))
    assert early.firings == 0
    async with aconn.transaction():
        due = await flows.evaluate(aconn, now=MONDAY_8 + timedelta(days=1, hours=9))
    assert due.firings == 1
    assert [f.rule_id for f in await sla_service.get_firings(aconn, work_order_id=order_id)] == [local_rule]
    assert (await workorders.get(aconn, work_order_id=order_id)).priority == "normal"


@pytest.mark.asyncio
async def test_the_job_runs_until_stopped(pool: AsyncConnectionPool, aconn: psycopg.AsyncConnection) -> None:
    order_id, _ = await _unanswered_order(aconn)
    stop = asyncio.Event()
    job = asyncio.create_task(run_sla_job(pool, stop=stop, every_s=0.05,
                                          clock=lambda: MONDAY_8 + timedelta(days=2, hours=1)))
    for _ in range(100):
        if len(await sla_service.get_firings(aconn, work_order_id=order_id)) == 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(job, timeout=5)
    assert len(await sla_service.get_firings(aconn, work_order_id=order_id)) == 2
    assert len(await events_of(aconn, order_id, "escalated")) == 2
