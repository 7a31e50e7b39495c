"""The fleet at a glance: every asset, its connection, its latest health score and open preventive orders."""

from __future__ import annotations

from collections import defaultdict

from psycopg import AsyncConnection
from psycopg.rows import class_row

from maintenance import store as maintenance_store
from service_core.fleet.models import (
    FleetAsset,
    FleetAssetRow,
    OpenPreventiveOrder,
)
from telemetry import store as telemetry_store


async def get_assets(conn: AsyncConnection) -> list[FleetAssetRow]:
    """Every asset with its site and customer."""
    async with conn.cursor(row_factory=class_row(FleetAssetRow)) as cur:
        await cur.execute(
            """
            select a.id as asset_id, a.model, s.code as site_code, s.name as site_name, s.region,
                   c.name as customer_name
              from service.assets a
              join service.sites s on s.id = a.site_id
              join service.customers c on c.id = s.customer_id
             order by s.code, a.id
            """
        )
        return await cur.fetchall()


async def get_open_preventive_orders(conn: AsyncConnection) -> list[OpenPreventiveOrder]:
    """Open preventive orders with the engineer they are assigned to."""
    async with conn.cursor(row_factory=class_row(OpenPreventiveOrder)) as cur:
        await cur.execute(
            """
            select w.id, w.asset_id, w.failure_mode, w.priority, w.status, w.engineer_id,
                   e.name as engineer_name, w.due_at
              from service.work_orders w
              left join service.engineers e on e.id = w.engineer_id
             where w.type = 'preventive' and w.status not in ('completed', 'closed', 'cancelled')
             order by w.asset_id, w.id
            """
        )
        return await cur.fetchall()


async def get_fleet(conn: AsyncConnection) -> list[FleetAsset]:
    """The fleet-health view, one entry per asset."""
    assets = await get_assets(conn)
    devices = {d.asset_id: d for d in await telemetry_store.get_devices(conn)}
    scores = await maintenance_store.latest_scores(conn)
    orders: dict[str, list[OpenPreventiveOrder]] = defaultdict(list)
    for order in await get_open_preventive_orders(conn):
        orders[order.asset_id].append(order)
    fleet = []
    for a in assets:
        device = devices.get(a.asset_id)
        scored_at, score = scores.get(a.asset_id, (None, None))
        fleet.append(
            FleetAsset(
                asset_id=a.asset_id,
                model=a.model,
                site_code=a.site_code,
                site_name=a.site_name,
                region=a.region,
                customer_name=a.customer_name,
                connection=device.connection if device else "unknown",
                last_seen=device.last_seen if device else None,
                health_score=score,
                scored_at=scored_at,
                open_orders=tuple(orders.get(a.asset_id, ())),
            )
        )
    return fleet
