"""Knowledge articles: create, change, search, suggest for an order, promote an order's resolution.

Callers own the transaction. Changes are audited by a trigger; the author or actor is named first.
"""

from __future__ import annotations

from dataclasses import fields

from psycopg import AsyncConnection, errors, sql
from psycopg.rows import class_row, dict_row

from service_core.audit import act_as
from service_core.errors import Conflict, NotFound
from service_core.knowledge.models import Article, ArticleHit, Suggestion
from service_core.knowledge.schemas import ArticleCreate, ArticleUpdate
from service_core.workorders import service as workorders_service

_COLUMNS = """
a.id, a.title, a.problem, a.cause, a.fix, a.asset_models, a.fault_codes, a.failure_modes, a.tags, a.author,
a.source_work_order_id, a.created_at, a.updated_at
"""

_SEARCH = f"""
select {_COLUMNS},
       case when %(q)s::text is not null then ts_rank_cd(a.search, query) end as rank,
       case when %(q)s::text is not null then
            ts_headline('english', concat_ws(' ', nullif(a.problem, ''), nullif(a.cause, ''), a.fix), query,
                        'StartSel=<mark>, StopSel=</mark>, MaxFragments=2, MinWords=8, MaxWords=30')
       end as headline
  from service.articles a, websearch_to_tsquery('english', coalesce(%(q)s::text, '')) as query
 where (%(q)s::text is null or a.search @@ query)
   and (%(asset_model)s::text is null or %(asset_model)s = any(a.asset_models))
   and (%(fault_code)s::text is null or %(fault_code)s = any(a.fault_codes))
   and (%(failure_mode)s::text is null or %(failure_mode)s = any(a.failure_modes))
   and (%(tag)s::text is null or %(tag)s = any(a.tags))
 order by rank desc nulls last, a.updated_at desc, a.id desc
 limit %(limit)s offset %(offset)s
"""

# The order's words become an OR query: an article need not share every word of a long description.
_SUGGEST = f"""
with o as (
    select w.id, w.fault_code, nullif(w.failure_mode, 'unknown') as failure_mode, s.model,
           tsvector_to_array(to_tsvector('english', w.title || ' ' || coalesce(w.description, ''))) as words
      from service.work_orders w
      join service.assets s on s.id = w.asset_id
     where w.id = %(id)s
), q as (
    select o.*,
           (select to_tsquery('simple', string_agg(quote_literal(word), ' | '))
              from unnest(o.words) as word
             where word !~ '[''\\\\]') as query
      from o
)
select {_COLUMNS},
       case when q.model = any(a.asset_models) then q.model end as matched_model,
       case when q.fault_code = any(a.fault_codes) then q.fault_code end as matched_fault_code,
       case when q.failure_mode = any(a.failure_modes) then q.failure_mode end as matched_failure_mode,
       array(select unnest(tsvector_to_array(a.search)) intersect select unnest(q.words) order by 1)
           as matched_words,
       coalesce(ts_rank_cd(a.search, q.query, 32), 0) as text_rank
  from q
  join service.articles a
    on q.model = any(a.asset_models) or q.fault_code = any(a.fault_codes)
    or q.failure_mode = any(a.failure_modes) or a.search @@ q.query
 where a.source_work_order_id is distinct from q.id
"""

_ARTICLE_FIELDS = tuple(f.name for f in fields(Article))


def _article(row: dict) -> Article:
    return Article(**{k: row[k] for k in _ARTICLE_FIELDS})


async def get(conn: AsyncConnection, *, article_id: int, for_update: bool = False) -> Article:
    """The article, or NotFound."""
    query = f"select {_COLUMNS} from service.articles a where a.id = %(id)s"
    async with conn.cursor(row_factory=class_row(Article)) as cur:
        await cur.execute(query + (" for update" if for_update else ""), {"id": article_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"article {article_id} not found")
    return row


async def get_all(
    conn: AsyncConnection,
    *,
    q: str | None = None,
    asset_model: str | None = None,
    fault_code: str | None = None,
    failure_mode: str | None = None,
    tag: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[ArticleHit]:
    """Articles matching every filter; with ``q`` (web-search syntax) the most relevant first, else the newest."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _SEARCH,
            {
                "q": q,
                "asset_model": asset_model,
                "fault_code": fault_code,
                "failure_mode": failure_mode,
                "tag": tag,
                "limit": limit,
                "offset": offset,
            },
        )
        rows = await cur.fetchall()
    return [ArticleHit(article=_article(r), rank=r["rank"], headline=r["headline"]) for r in rows]


async def create(
    conn: AsyncConnection, *, article_in: ArticleCreate, source_work_order_id: int | None = None
) -> Article:
    """Add an article; an order already promoted is a Conflict."""
    await act_as(conn, article_in.author)
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(Article)) as cur:
            await cur.execute(
                """
                insert into service.articles as a
                       (title, problem, cause, fix, asset_models, fault_codes, failure_modes, tags, author,
                        source_work_order_id)
                values (%(title)s, %(problem)s, %(cause)s, %(fix)s, %(asset_models)s, %(fault_codes)s,
                        %(failure_modes)s, %(tags)s, %(author)s, %(source_work_order_id)s)
                returning """
                + _COLUMNS,
                article_in.model_dump() | {"source_work_order_id": source_work_order_id},
            )
            return await cur.fetchone()
    except errors.UniqueViolation:
        existing = await _promoted_from(conn, work_order_id=source_work_order_id)
        raise Conflict(f"work order {source_work_order_id} was already promoted to article {existing}") from None


async def update(conn: AsyncConnection, *, article_id: int, article_in: ArticleUpdate) -> Article:
    """Change the fields given; the audit log keeps each change's before and after."""
    current = await get(conn, article_id=article_id, for_update=True)
    given = article_in.model_dump(exclude_unset=True, exclude={"actor"})
    changed = {k: v for k, v in given.items() if getattr(current, k) != v}
    if not changed:
        return current
    await act_as(conn, article_in.actor)
    # column names come from the schema's fields, never from the request's keys as text
    assignments = sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changed)
    async with conn.cursor(row_factory=class_row(Article)) as cur:
        await cur.execute(
            sql.SQL("update service.articles as a set {} where id = %(id)s returning " + _COLUMNS).format(assignments),
            changed | {"id": article_id},
        )
        return await cur.fetchone()


async def _promoted_from(conn: AsyncConnection, *, work_order_id: int | None) -> int | None:
    cur = await conn.execute(
        "select id from service.articles where source_work_order_id = %(id)s", {"id": work_order_id}
    )
    row = await cur.fetchone()
    return row[0] if row else None


def score(*, fault_code: bool, asset_model: bool, failure_mode: bool, text_rank: float) -> float:
    """How strongly an article fits an order: a shared fault code says most, then model and failure mode.

    ``text_rank`` is ts_rank_cd normalised to 0..1 (rank / (rank + 1)).

    >>> score(fault_code=True, asset_model=True, failure_mode=False, text_rank=0.5)
    7.5
    """
    return 4.0 * fault_code + 2.0 * asset_model + 2.0 * failure_mode + 3.0 * text_rank


async def suggest(conn: AsyncConnection, *, work_order_id: int, limit: int = 10) -> list[Suggestion]:
    """Articles for the order, best first: same fault code, asset model, failure mode, similar words."""
    await workorders_service.get(conn, work_order_id=work_order_id)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_SUGGEST, {"id": work_order_id})
        rows = await cur.fetchall()
    suggestions = [
        Suggestion(
            article=_article(r),
            score=round(
                score(
                    fault_code=r["matched_fault_code"] is not None,
                    asset_model=r["matched_model"] is not None,
                    failure_mode=r["matched_failure_mode"] is not None,
                    text_rank=r["text_rank"],
                ),
                4,
            ),
            asset_model=r["matched_model"],
            fault_code=r["matched_fault_code"],
            failure_mode=r["matched_failure_mode"],
            matched_words=r["matched_words"],
            text_rank=r["text_rank"],
        )
        for r in rows
    ]
    suggestions.sort(key=lambda s: (-s.score, -s.article.id))
    return suggestions[:limit]
