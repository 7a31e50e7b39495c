"""The audit log: who changed a row, when, and its values before and after.

Triggers write it (``service.audit_row``), so no code path can skip it; a service only says who is
acting, for the rest of the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    at: datetime
    actor: str
    table_name: str
    row_id: str
    action: str  # insert, update, delete
    before: dict | None
    after: dict | None


async def act_as(conn: AsyncConnection, actor: str) -> None:
    """Name the actor of the changes that follow in this transaction."""
    await conn.execute("select set_config('fleetcare.actor', %(actor)s, true)", {"actor": actor})


async def get_changes(conn: AsyncConnection, *, table_name: str, row_id: str | int) -> list[Change]:
    """A row's audited changes, oldest first."""
    async with conn.cursor(row_factory=class_row(Change)) as cur:
        await cur.execute(
            """
            select * from service.audit_log
             where table_name = %(table_name)s and row_id = %(row_id)s
             order by id
            """,
            {"table_name": table_name, "row_id": str(row_id)},
        )
        return await cur.fetchall()
