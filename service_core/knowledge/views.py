"""Routes for knowledge articles, their search, and the articles of a work order."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, status

from service_core.deps import ConnDep
from service_core.knowledge import flows, service
from service_core.knowledge.schemas import (
    ArticleCreate,
    ArticleHitRead,
    ArticleRead,
    ArticleUpdate,
    PromoteRequest,
    SuggestionRead,
)
from service_core.workorders.schemas import FailureMode

router = APIRouter(tags=["knowledge"])


Short = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("/knowledge/articles", response_model=list[ArticleHitRead])
async def search_articles(
    conn: ConnDep,
    q: Annotated[
        str | None, Query(min_length=1, max_length=500, description='Web-search syntax: words, "a phrase", -not, or')
    ] = None,
    asset_model: Short = None,
    fault_code: Short = None,
    failure_mode: FailureMode | None = None,
    tag: Short = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
):
    """Search the knowledge base: ranked by full-text relevance (title over codes over body) with snippets."""
    hits = await service.get_all(
        conn,
        q=q,
        asset_model=asset_model,
        fault_code=fault_code,
        failure_mode=failure_mode,
        tag=tag,
        limit=limit,
        offset=offset,
    )
    return [ArticleHitRead(**asdict(h.article), rank=h.rank, headline=h.headline) for h in hits]


@router.post("/knowledge/articles", response_model=ArticleRead, status_code=status.HTTP_201_CREATED)
async def create_article(conn: ConnDep, article_in: ArticleCreate):
    return await service.create(conn, article_in=article_in)


@router.get("/knowledge/articles/{article_id}", response_model=ArticleRead)
async def get_article(conn: ConnDep, article_id: int):
    return await service.get(conn, article_id=article_id)


@router.patch("/knowledge/articles/{article_id}", response_model=ArticleRead)
async def update_article(conn: ConnDep, article_id: int, article_in: ArticleUpdate):
    """Change an article; every change is kept in the audit log with its author."""
    return await service.update(conn, article_id=article_id, article_in=article_in)


@router.get("/work-orders/{work_order_id}/suggested-articles", response_model=list[SuggestionRead])
async def suggested_articles(conn: ConnDep, work_order_id: int, limit: Annotated[int, Query(ge=1, le=50)] = 10):
    """Articles that may help with this order, best first, each with the reasons it is suggested."""
    suggestions = await service.suggest(conn, work_order_id=work_order_id, limit=limit)
    return [
        SuggestionRead(article=asdict(s.article), score=s.score, reasons=s.reasons(), matched_words=s.matched_words)
        for s in suggestions
    ]


@router.post(
    "/work-orders/{work_order_id}/promote-to-article", response_model=ArticleRead, status_code=status.HTTP_201_CREATED
)
async def promote_to_article(conn: ConnDep, work_order_id: int, request: PromoteRequest):
    """Turn a completed order's resolution into an article (once per order)."""
    return await flows.promote(conn, work_order_id=work_order_id, actor=request.actor, title=request.title)
