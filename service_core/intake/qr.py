"""The asset's QR code: an unguessable token per asset, the public page it leads to, and its SVG."""

from __future__ import annotations

import io
import re

import segno
from psycopg import AsyncConnection
from psycopg.rows import class_row

from service_core.customers import service as customers_service
from service_core.errors import NotFound
from service_core.intake.models import PublicStatus, QrAsset

TOKEN = re.compile(r"^[A-Za-z0-9_\-]{22,64}$")


def render_svg(url: str, *, title: str | None = None) -> str:
    """The QR code of ``url`` as a standalone SVG (error correction M: readable with a scuffed sticker)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=4, border=4, title=title)
    return out.getvalue().decode()


async def get_token(conn: AsyncConnection, *, asset_id: str) -> str:
    """The asset's QR token, made now if the asset has none yet; NotFound for an unknown asset."""
    await customers_service.get_asset(conn, asset_id=asset_id)
    cur = await conn.execute(
        """
        with made as (
            insert into service.asset_qr_codes (asset_id, token) values (%(asset_id)s, service.new_qr_token())
            on conflict (asset_id) do nothing
            returning token
        )
        select token from made
         union all
        select token from service.asset_qr_codes where asset_id = %(asset_id)s
        """,
        {"asset_id": asset_id},
    )
    (token,) = await cur.fetchone()
    return token


async def get_asset_by_token(conn: AsyncConnection, *, token: str) -> QrAsset:
    """The asset a QR code stands for, or NotFound."""
    if not TOKEN.match(token):
        raise NotFound("this QR code is unknown")
    async with conn.cursor(row_factory=class_row(QrAsset)) as cur:
        await cur.execute(
            """
            select q.token, a.id as asset_id, a.model, a.serial, a.location, s.name as site_name,
                   s.code as site_code, c.name as customer_name
              from service.asset_qr_codes q
              join service.assets a on a.id = q.asset_id
              join service.sites s on s.id = a.site_id
              join service.customers c on c.id = s.customer_id
             where q.token = %(token)s
            """,
            {"token": token},
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound("this QR code is unknown")
    return row


async def get_public_status(conn: AsyncConnection, *, asset_id: str, tracking_code: str) -> PublicStatus:
    """What the customer may see of a request on this asset: its status, its order's, the next visit."""
    async with conn.cursor(row_factory=class_row(PublicStatus)) as cur:
        await cur.execute(
            """
            select r.tracking_code, r.status, r.subject, r.received_at, w.status as work_order_status,
                   (select min(v.planned_at) from service.visits v
                     where v.work_order_id = w.id and v.status = 'planned') as planned_visit_at,
                   (select max(v.check_out_at) from service.visits v
                     where v.work_order_id = w.id and v.status = 'checked_out') as last_visit_at
              from service.service_requests r
              left join service.work_orders w on w.id = r.work_order_id
             where r.asset_id = %(asset_id)s and r.tracking_code = %(code)s
            """,
            {"asset_id": asset_id, "code": tracking_code},
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no request {tracking_code!r} on this asset")
    return row
