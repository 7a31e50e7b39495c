"""Work that crosses areas: a completed order's resolution becomes a knowledge article."""

from __future__ import annotations

from psycopg import AsyncConnection

from service_core.customers import service as customers_service
from service_core.errors import Conflict
from service_core.knowledge import service
from service_core.knowledge.models import Article
from service_core.knowledge.schemas import ArticleCreate
from service_core.workorders import service as workorders_service

PROMOTABLE = frozenset({"completed", "closed"})


async def promote(conn: AsyncConnection, *, work_order_id: int, actor: str, title: str | None = None) -> Article:
    """An article from a completed or closed order's resolution, linked to the order, its model and codes.

    The order gets a ``promoted_to_article`` event; promoting it twice is a Conflict (a unique key says so).
    """
    order = await workorders_service.get(conn, work_order_id=work_order_id, for_update=True)
    if order.status not in PROMOTABLE:
        raise Conflict(f"work order {work_order_id} is {order.status}; only a completed or closed order is promoted")
    if not (order.resolution or "").strip():
        raise Conflict(f"work order {work_order_id} has no resolution to promote; record it first (PATCH)")
    asset = await customers_service.get_asset(conn, asset_id=order.asset_id)
    article = await service.create(
        conn,
        article_in=ArticleCreate(
            title=title or order.title,
            problem=order.description or order.title,
            cause=order.root_cause or "",
            fix=order.resolution,
            asset_models=[asset.model],
            fault_codes=[order.fault_code] if order.fault_code else [],
            failure_modes=[order.failure_mode] if order.failure_mode else [],
            tags=[order.type],
            author=actor,
        ),
        source_work_order_id=work_order_id,
    )
    await workorders_service.record_event(
        conn,
        work_order_id=work_order_id,
        actor=actor,
        kind="promoted_to_article",
        from_status=order.status,
        to_status=order.status,
        engineer_id=order.engineer_id,
        details={"article_id": article.id},
    )
    return article
