"""The 360° view of an asset: customer, site, warranty, contract, past orders, parts replaced, health."""

from __future__ import annotations

from datetime import date

from psycopg import AsyncConnection
from psycopg.rows import class_row

from maintenance import store as maintenance_store
from service_core.customers import service as customers_service
from service_core.intake.models import Contract, Overview, PartReplaced, PastOrder


def in_warranty(warranty_ends_on: date | None, on: date) -> bool | None:
    """Whether the warranty still runs on ``on`` (its last day included); None when its end is unknown."""
    return None if warranty_ends_on is None else on <= warranty_ends_on


async def get_contract(conn: AsyncConnection, *, customer_id: int, on: date) -> Contract | None:
    """The customer's contract in force on ``on``; the most generous one when several overlap."""
    async with conn.cursor(row_factory=class_row(Contract)) as cur:
        await cur.execute(
            """
            select id, customer_id, name, level, starts_on, ends_on, covers_labour, covers_parts
              from service.contracts
             where customer_id = %(customer_id)s and %(on)s between starts_on and ends_on
             order by array_position(array['premium', 'standard', 'basic'], level), ends_on desc, id desc
             limit 1
            """,
            {"customer_id": customer_id, "on": on},
        )
        return await cur.fetchone()


async def get_past_orders(conn: AsyncConnection, *, asset_id: str, limit: int = 50) -> list[PastOrder]:
    """The asset's work orders, newest first."""
    async with conn.cursor(row_factory=class_row(PastOrder)) as cur:
        await cur.execute(
            """
            select id, type, status, priority, title, fault_code, failure_mode, created_at, updated_at
              from service.work_orders where asset_id = %(asset_id)s
             order by id desc limit %(limit)s
            """,
            {"asset_id": asset_id, "limit": limit},
        )
        return await cur.fetchall()


async def get_parts_replaced(conn: AsyncConnection, *, asset_id: str, limit: int = 100) -> list[PartReplaced]:
    """Parts fitted on the asset through its orders, newest first."""
    async with conn.cursor(row_factory=class_row(PartReplaced)) as cur:
        await cur.execute(
            """
            select p.work_order_id, p.part_number, p.description, p.quantity, p.recorded_at
              from service.parts_used p join service.work_orders w on w.id = p.work_order_id
             where w.asset_id = %(asset_id)s
             order by p.recorded_at desc, p.id desc limit %(limit)s
            """,
            {"asset_id": asset_id, "limit": limit},
        )
        return await cur.fetchall()


async def get_overview(conn: AsyncConnection, *, asset_id: str, on: date) -> Overview:
    """Everything the desk needs to know about the asset on ``on``, or NotFound."""
    asset = await customers_service.get_asset(conn, asset_id=asset_id)
    site = await customers_service.get_site(conn, site_id=asset.site_id)
    customer = await customers_service.get(conn, customer_id=site.customer_id)
    scores = await maintenance_store.latest_scores(conn, [asset_id])
    scored_at, score = scores.get(asset_id, (None, None))
    return Overview(
        on=on,
        customer=customer,
        site=site,
        asset=asset,
        in_warranty=in_warranty(asset.warranty_ends_on, on),
        warranty_ends_on=asset.warranty_ends_on,
        contract=await get_contract(conn, customer_id=customer.id, on=on),
        past_orders=tuple(await get_past_orders(conn, asset_id=asset_id)),
        parts_replaced=tuple(await get_parts_replaced(conn, asset_id=asset_id)),
        health_score=score,
        scored_at=scored_at,
    )
