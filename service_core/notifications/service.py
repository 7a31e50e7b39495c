"""The notification outbox: written in the business transaction, published to MQTT after commit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from functools import partial
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from service_core.notifications.models import Notification

CHANNEL = "service_notifications"  # NOTIFY channel the outbox trigger signals on commit


def engineer_topic(engineer_id: int) -> str:
    """Where an engineer's app listens for the orders given to them."""
    return f"fleetcare/engineers/{engineer_id}/orders"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


json_dumps = partial(json.dumps, default=_json_default, separators=(",", ":"))


async def enqueue(conn: AsyncConnection, *, topic: str, payload: dict) -> int:
    """Store a message to publish once the caller's transaction commits; returns its id."""
    cur = await conn.execute(
        "insert into service.notifications (topic, payload) values (%(topic)s, %(payload)s) returning id",
        {"topic": topic, "payload": Jsonb(payload, dumps=json_dumps)},
    )
    (notification_id,) = await cur.fetchone()
    return notification_id


async def get(conn: AsyncConnection, *, notification_id: int) -> Notification | None:
    """One notification, sent or not."""
    async with conn.cursor(row_factory=class_row(Notification)) as cur:
        await cur.execute("select * from service.notifications where id = %(id)s", {"id": notification_id})
        return await cur.fetchone()


async def claim_unsent(conn: AsyncConnection, *, limit: int = 100) -> list[Notification]:
    """The oldest unsent notifications, locked for the caller's transaction; others' locked rows are skipped."""
    async with conn.cursor(row_factory=class_row(Notification)) as cur:
        await cur.execute(
            """
            select * from service.notifications
             where sent_at is null
             order by id
             limit %(limit)s
               for update skip locked
            """,
            {"limit": limit},
        )
        return await cur.fetchall()


async def mark_sent(conn: AsyncConnection, *, notification_ids: Sequence[int]) -> None:
    """Record that the broker acknowledged these."""
    if notification_ids:
        await conn.execute(
            "update service.notifications set sent_at = now() where id = any(%(ids)s::bigint[])",
            {"ids": list(notification_ids)},
        )


async def get_latest_for_order(conn: AsyncConnection, *, topic: str, work_order_id: int) -> int | None:
    """The id of the newest notification on ``topic`` about this work order, if any."""
    cur = await conn.execute(
        """
        select max(id) from service.notifications
         where topic = %(topic)s and (payload ->> 'work_order_id')::bigint = %(work_order_id)s
        """,
        {"topic": topic, "work_order_id": work_order_id},
    )
    (notification_id,) = await cur.fetchone()
    return notification_id
