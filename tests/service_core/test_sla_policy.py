"""Which policy applies: the most specific match of contract level (on the creation day), order type, priority."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg
import pytest

from service_core.sla import flows
from service_core.sla import service as sla_service
from service_core.sla.policies import select_policy
from tests.service_core.sla_helpers import a_contract, a_fleet, an_order

MONDAY_8 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.mark.asyncio
async def test_the_most_specific_seeded_policy_wins(aconn: psycopg.AsyncConnection) -> None:
    policies = await sla_service.get_policies(aconn)

    def name(level: str | None, type: str, priority: str) -> str:
        return select_policy(policies, contract_level=level, order_type=type, priority=priority).name

    assert name(None, "repair", "normal") == "Default, normal"
    assert name("basic", "repair", "high") == "Default, high"  # no basic policy: the default one
    assert name("premium", "preventive", "urgent") == "Premium, urgent"
    # a complaint's own policy beats the contract's
    assert name("premium", "complaint", "urgent") == "Complaint, urgent"
    assert name(None, "complaint", "low") == "Complaint, low"


@pytest.mark.asyncio
async def test_a_policy_naming_everything_beats_the_seeded_ones(aconn: psycopg.AsyncConnection) -> None:
    await aconn.execute(
        """
        insert into service.sla_policies (name, calendar_id, contract_level, order_type, priority, response_minutes)
        select 'Premium complaints', id, 'premium', 'complaint', null, 15 from service.sla_calendars limit 1
        """
    )
    policies = await sla_service.get_policies(aconn)
    chosen = select_policy(policies, contract_level="premium", order_type="complaint", priority="high")
    assert chosen.name == "Premium complaints"
    chosen = select_policy(policies, contract_level="standard", order_type="complaint", priority="high")
    assert chosen.name == "Complaint, high"


@pytest.mark.asyncio
async def test_the_contract_active_on_the_creation_day_decides(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        asset_id, _, customer_id = await a_fleet(aconn)
        await a_contract(aconn, customer_id=customer_id, level="standard", starts_on=date(2025, 1, 1),
                         ends_on=date(2025, 12, 31))
        await a_contract(aconn, customer_id=customer_id, level="premium", starts_on=date(2025, 3, 1),
                         ends_on=date(2025, 3, 31))
        in_march = await an_order(aconn, asset_id=asset_id, created_at=MONDAY_8, priority="high")
        in_june = await an_order(aconn, asset_id=asset_id, created_at=datetime(2025, 6, 2, 8, tzinfo=UTC),
                                 priority="high")
        next_year = await an_order(aconn, asset_id=asset_id, created_at=datetime(2026, 2, 2, 8, tzinfo=UTC),
                                   priority="high")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    march = await flows.order_sla(aconn, work_order_id=in_march, now=now)
    june = await flows.order_sla(aconn, work_order_id=in_june, now=now)
    later = await flows.order_sla(aconn, work_order_id=next_year, now=now)
    assert (march.order.contract_level, march.policy.name) == ("premium", "Premium, high")
    assert (june.order.contract_level, june.policy.name) == ("standard", "Default, high")
    assert (later.order.contract_level, later.policy.name) == (None, "Default, high")
    assert [c.target_minutes for c in march.clocks] == [120, 480, 1080]


@pytest.mark.asyncio
async def test_an_order_no_policy_matches_has_no_clocks(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        asset_id, _, _ = await a_fleet(aconn)
        order_id = await an_order(aconn, asset_id=asset_id, created_at=MONDAY_8, priority="low")
        await aconn.execute("delete from service.sla_policies where priority = 'low'")
    sla = await flows.order_sla(aconn, work_order_id=order_id, now=datetime(2025, 3, 4, tzinfo=UTC))
    assert sla.policy is None and sla.clocks == []
