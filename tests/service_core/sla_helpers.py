"""Orders with a history at chosen times, for the SLA tests (the caller owns the transaction)."""

from __future__ import annotations

from datetime import date, datetime

from psycopg import AsyncConnection

from service_core.workorders import service as workorders
from tests.service_core.builders import a_site, an_asset, an_engineer


async def a_fleet(conn: AsyncConnection, *, code: str = "rtm-01", region: str = "NL-ZH") -> tuple[str, int, int]:
    """An asset on a site in ``region`` and an engineer; returns (asset id, engineer id, customer id)."""
    site = await a_site(conn, code=code)
    await conn.execute("update service.sites set region = %(region)s where id = %(id)s", {"region": region,
                                                                                          "id": site.id})
    asset = await an_asset(conn, site=site, asset_id=f"pump-{code}")
    engineer = await an_engineer(conn, name=f"Eva of {code}")
    return asset.id, engineer.id, site.customer_id


async def an_order(
    conn: AsyncConnection, *, asset_id: str, created_at: datetime, type: str = "repair", priority: str = "normal"
) -> int:
    """An order opened at ``created_at``."""
    order = await workorders.insert(conn, asset_id=asset_id, type=type, title=f"{type} job", actor="desk",
                                    priority=priority)
    await conn.execute("update service.work_orders set created_at = %(at)s where id = %(id)s",
                       {"at": created_at, "id": order.id})
    await backdate_last_event(conn, order.id, created_at)
    return order.id


async def move(
    conn: AsyncConnection, order_id: int, to: str, *, at: datetime, engineer_id: int | None = None,
    reason: str | None = None,
) -> None:
    """Assign the order (``to='assigned'``) or move it (on_hold with its ``reason``), as if it happened at ``at``."""
    if to == "assigned":
        await workorders.assign(conn, work_order_id=order_id, engineer_id=engineer_id, actor="desk")
    else:
        await workorders.transition(conn, work_order_id=order_id, target=to, actor="eva", reason=reason)
    await backdate_last_event(conn, order_id, at)


async def a_contract(conn: AsyncConnection, *, customer_id: int, level: str, starts_on: date, ends_on: date) -> None:
    await conn.execute(
        """
        insert into service.contracts (customer_id, name, level, starts_on, ends_on)
        values (%(customer)s, %(name)s, %(level)s, %(starts)s, %(ends)s)
        """,
        {"customer": customer_id, "name": f"{level} contract", "level": level, "starts": starts_on, "ends": ends_on},
    )


async def a_supervisor(conn: AsyncConnection, *, name: str, region: str = "NL-ZH", support_line: int = 1) -> int:
    cur = await conn.execute(
        """
        insert into service.supervisors (name, email, region, support_line)
        values (%(name)s, %(email)s, %(region)s, %(line)s) returning id
        """,
        {"name": name, "email": f"{name.lower()}@example.com", "region": region, "line": support_line},
    )
    return (await cur.fetchone())[0]


async def events_of(conn: AsyncConnection, order_id: int, kind: str) -> list[tuple]:
    cur = await conn.execute(
        "select kind, note, details from service.work_order_events where work_order_id = %(id)s and kind = %(kind)s"
        " order by id",
        {"id": order_id, "kind": kind},
    )
    return await cur.fetchall()


async def backdate_last_event(conn: AsyncConnection, order_id: int, at: datetime) -> None:
    await conn.execute(
        """
        update service.work_order_events set at = %(at)s
         where id = (select max(id) from service.work_order_events where work_order_id = %(id)s)
        """,
        {"at": at, "id": order_id},
    )
