"""Surveys, their messages and recovery tasks in literal SQL. Callers own the transaction."""

from __future__ import annotations

from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import class_row

from service_core.audit import act_as
from service_core.errors import Conflict, NotFound
from service_core.surveys.models import (
    CompletedOrder,
    OutgoingMessage,
    RecoveryTask,
    Survey,
    SurveyPage,
    UnansweredSurvey,
)
from service_core.surveys.rules import CLAIM_LEASE, REMINDER_AFTER

# surveys


async def get(conn: AsyncConnection, *, survey_id: int) -> Survey:
    """The survey, or NotFound."""
    async with conn.cursor(row_factory=class_row(Survey)) as cur:
        await cur.execute("select * from service.surveys where id = %(id)s", {"id": survey_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"survey {survey_id} not found")
    return row


async def get_by_work_order(conn: AsyncConnection, *, work_order_id: int) -> Survey:
    """The order's survey, or NotFound."""
    async with conn.cursor(row_factory=class_row(Survey)) as cur:
        await cur.execute("select * from service.surveys where work_order_id = %(id)s", {"id": work_order_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"work order {work_order_id} has no survey")
    return row


async def get_unsurveyed(conn: AsyncConnection, *, since: datetime, limit: int = 200) -> list[CompletedOrder]:
    """Orders completed (last time) since ``since`` that have no survey, with the reporter's and customer's e-mail."""
    async with conn.cursor(row_factory=class_row(CompletedOrder)) as cur:
        await cur.execute(
            """
            select o.id as work_order_id, c.completed_at,
                   (select r.reporter_email from service.service_requests r
                     where r.work_order_id = o.id and r.reporter_email is not null
                     order by r.id limit 1) as reporter_email,
                   cu.email as customer_email
              from service.work_orders o
              join lateral (select max(e.at) as completed_at from service.work_order_events e
                             where e.work_order_id = o.id and e.to_status = 'completed'
                               and e.from_status is distinct from e.to_status) c on true
              join service.assets a on a.id = o.asset_id
              join service.sites s on s.id = a.site_id
              join service.customers cu on cu.id = s.customer_id
             where o.status in ('completed', 'closed')
               and c.completed_at >= %(since)s
               and not exists (select 1 from service.surveys v where v.work_order_id = o.id)
             order by o.id
             limit %(limit)s
            """,
            {"since": since, "limit": limit},
        )
        return await cur.fetchall()


async def create(
    conn: AsyncConnection,
    *,
    work_order_id: int,
    channel: str | None,
    recipient: str | None,
    unsendable_reason: str | None = None,
) -> Survey | None:
    """The order's survey; None when it already has one (the unique key decides between concurrent jobs)."""
    async with conn.cursor(row_factory=class_row(Survey)) as cur:
        await cur.execute(
            """
            insert into service.surveys (work_order_id, channel, recipient, unsendable_reason)
            values (%(work_order_id)s, %(channel)s, %(recipient)s, %(reason)s)
            on conflict (work_order_id) do nothing
            returning *
            """,
            {"work_order_id": work_order_id, "channel": channel, "recipient": recipient, "reason": unsendable_reason},
        )
        return await cur.fetchone()


async def create_message(
    conn: AsyncConnection, *, survey_id: int, kind: str, channel: str, recipient: str | None, due_at: datetime
) -> int | None:
    """Queue the survey's invitation or reminder, to send from ``due_at``; None when it exists (one of each)."""
    cur = await conn.execute(
        """
        insert into service.survey_messages (survey_id, kind, channel, recipient, next_attempt_at)
        values (%(survey_id)s, %(kind)s, %(channel)s, %(recipient)s, %(due_at)s)
        on conflict (survey_id, kind) do nothing
        returning id
        """,
        {"survey_id": survey_id, "kind": kind, "channel": channel, "recipient": recipient, "due_at": due_at},
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def get_unanswered(conn: AsyncConnection, *, now: datetime, limit: int = 200) -> list[UnansweredSurvey]:
    """Surveys sent at least REMINDER_AFTER before ``now``, unanswered and with no reminder queued."""
    async with conn.cursor(row_factory=class_row(UnansweredSurvey)) as cur:
        await cur.execute(
            """
            select v.id as survey_id, v.sent_at, v.channel, v.recipient
              from service.surveys v
             where v.answered_at is null and v.sent_at <= %(before)s and v.channel is not null
               and not exists (select 1 from service.survey_messages m
                                where m.survey_id = v.id and m.kind = 'reminder')
             order by v.id
             limit %(limit)s
            """,
            {"before": now - REMINDER_AFTER, "limit": limit},
        )
        return await cur.fetchall()


_OUTGOING = """
select m.id, m.survey_id, m.kind, m.channel, m.recipient, m.attempts, v.token, o.id as work_order_id, o.title,
       a.id as asset_id, a.model as asset_model, s.name as site_name, cu.id as customer_id,
       cu.name as customer_name, e.name as engineer_name,
       (select max(ev.at) from service.work_order_events ev
         where ev.work_order_id = o.id and ev.to_status = 'completed') as completed_at
  from service.survey_messages m
  join service.surveys v on v.id = m.survey_id
  join service.work_orders o on o.id = v.work_order_id
  join service.assets a on a.id = o.asset_id
  join service.sites s on s.id = a.site_id
  join service.customers cu on cu.id = s.customer_id
  left join service.engineers e on e.id = o.engineer_id
 where m.id = any(%(ids)s::bigint[])
 order by m.id
"""


async def claim_due(conn: AsyncConnection, *, now: datetime, limit: int = 50) -> list[OutgoingMessage]:
    """Unsent messages due by ``now``, leased to the caller for CLAIM_LEASE (others' claims are skipped).

    A reminder of a survey answered meanwhile is never due. Commit before sending, so that the claim holds
    while the slow part runs outside any transaction.
    """
    cur = await conn.execute(
        """
        with due as (
            select m.id
              from service.survey_messages m
              join service.surveys v on v.id = m.survey_id
             where m.sent_at is null and m.next_attempt_at <= %(now)s
               and (m.claimed_until is null or m.claimed_until < %(now)s)
               and (m.kind = 'invitation' or v.answered_at is null)
             order by m.next_attempt_at, m.id
             limit %(limit)s
               for update of m skip locked
        )
        update service.survey_messages m
           set claimed_until = %(until)s, attempts = m.attempts + 1
          from due
         where m.id = due.id
        returning m.id
        """,
        {"now": now, "until": now + CLAIM_LEASE, "limit": limit},
    )
    ids = [row[0] for row in await cur.fetchall()]
    if not ids:
        return []
    async with conn.cursor(row_factory=class_row(OutgoingMessage)) as cur:
        await cur.execute(_OUTGOING, {"ids": ids})
        return await cur.fetchall()


async def mark_sent(conn: AsyncConnection, *, message: OutgoingMessage, at: datetime) -> None:
    """Record a message the channel accepted; the survey's sent_at / reminder_sent_at is its first sending."""
    await conn.execute(
        """
        update service.survey_messages
           set sent_at = %(at)s, claimed_until = null, last_error = null
         where id = %(id)s
        """,
        {"id": message.id, "at": at},
    )
    # ``at`` is when sending began, before the customer could follow the link; least() keeps the order of
    # events when a caller's clock says otherwise
    if message.kind == "invitation":
        sql = """
            update service.surveys set sent_at = coalesce(sent_at, least(%(at)s, answered_at)) where id = %(id)s
        """
    else:
        sql = "update service.surveys set reminder_sent_at = coalesce(reminder_sent_at, %(at)s) where id = %(id)s"
    await conn.execute(sql, {"id": message.survey_id, "at": at})


async def mark_failed(conn: AsyncConnection, *, message_id: int, error: str, retry_at: datetime) -> None:
    """Record a failed send; the message is due again at ``retry_at``."""
    await conn.execute(
        """
        update service.survey_messages
           set last_error = left(%(error)s, 2000), next_attempt_at = %(retry_at)s, claimed_until = null
         where id = %(id)s
        """,
        {"id": message_id, "error": error, "retry_at": retry_at},
    )


async def get_messages(conn: AsyncConnection, *, survey_id: int) -> list[dict]:
    """The survey's messages, invitation first."""
    cur = await conn.execute(
        """
        select kind, channel, recipient, attempts, next_attempt_at, last_error, sent_at
          from service.survey_messages where survey_id = %(id)s order by id
        """,
        {"id": survey_id},
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


async def get_page(conn: AsyncConnection, *, token: str) -> SurveyPage:
    """What the survey's public page shows, or NotFound."""
    async with conn.cursor(row_factory=class_row(SurveyPage)) as cur:
        await cur.execute(
            """
            select v.id as survey_id, v.token, o.id as work_order_id, o.title, a.id as asset_id,
                   a.model as asset_model, s.name as site_name, s.region, cu.name as customer_name,
                   e.name as engineer_name,
                   (select max(ev.at) from service.work_order_events ev
                     where ev.work_order_id = o.id and ev.to_status = 'completed') as completed_at,
                   v.csat, v.nps, v.comment, v.answered_at
              from service.surveys v
              join service.work_orders o on o.id = v.work_order_id
              join service.assets a on a.id = o.asset_id
              join service.sites s on s.id = a.site_id
              join service.customers cu on cu.id = s.customer_id
              left join service.engineers e on e.id = o.engineer_id
             where v.token = %(token)s
            """,
            {"token": token},
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound("no survey has this link")
    return row


async def answer(
    conn: AsyncConnection, *, token: str, csat: int | None, nps: int | None, comment: str | None
) -> Survey | None:
    """Store the answer; None when the survey was already answered (a concurrent second answer waits and loses)."""
    async with conn.cursor(row_factory=class_row(Survey)) as cur:
        await cur.execute(
            """
            update service.surveys
               set csat = %(csat)s, nps = %(nps)s, comment = %(comment)s, answered_at = now()
             where token = %(token)s and answered_at is null
            returning *
            """,
            {"token": token, "csat": csat, "nps": nps, "comment": comment},
        )
        return await cur.fetchone()


# recovery tasks


async def get_region_supervisor(conn: AsyncConnection, *, region: str) -> int | None:
    """The first-line supervisor of the region (the lowest support line, then the oldest), if any is active."""
    cur = await conn.execute(
        """
        select id from service.supervisors
         where region = %(region)s and active
         order by support_line, id
         limit 1
        """,
        {"region": region},
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def create_recovery_task(
    conn: AsyncConnection,
    *,
    survey_id: int,
    work_order_id: int,
    supervisor_id: int | None,
    region: str,
    reason: str,
    due_at: datetime,
) -> RecoveryTask | None:
    """Open the survey's recovery task; None when it has one already."""
    async with conn.cursor(row_factory=class_row(RecoveryTask)) as cur:
        await cur.execute(
            """
            insert into service.recovery_tasks (survey_id, work_order_id, supervisor_id, region, reason, due_at)
            values (%(survey_id)s, %(work_order_id)s, %(supervisor_id)s, %(region)s, %(reason)s, %(due_at)s)
            on conflict (survey_id) do nothing
            returning *
            """,
            {"survey_id": survey_id, "work_order_id": work_order_id, "supervisor_id": supervisor_id,
             "region": region, "reason": reason, "due_at": due_at},
        )
        return await cur.fetchone()


async def get_recovery_task(conn: AsyncConnection, *, task_id: int, for_update: bool = False) -> RecoveryTask:
    """The task, or NotFound."""
    sql = "select * from service.recovery_tasks where id = %(id)s" + (" for update" if for_update else "")
    async with conn.cursor(row_factory=class_row(RecoveryTask)) as cur:
        await cur.execute(sql, {"id": task_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"recovery task {task_id} not found")
    return row


async def get_recovery_tasks(
    conn: AsyncConnection,
    *,
    status: str | None = None,
    supervisor_id: int | None = None,
    work_order_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[RecoveryTask]:
    """Tasks matching every filter given, the soonest due first."""
    async with conn.cursor(row_factory=class_row(RecoveryTask)) as cur:
        await cur.execute(
            """
            select * from service.recovery_tasks
             where (%(status)s::text is null or status = %(status)s)
               and (%(supervisor_id)s::bigint is null or supervisor_id = %(supervisor_id)s)
               and (%(work_order_id)s::bigint is null or work_order_id = %(work_order_id)s)
             order by due_at, id
             limit %(limit)s offset %(offset)s
            """,
            {"status": status, "supervisor_id": supervisor_id, "work_order_id": work_order_id,
             "limit": limit, "offset": offset},
        )
        return await cur.fetchall()


async def close_recovery_task(conn: AsyncConnection, *, task_id: int, note: str, actor: str) -> RecoveryTask:
    """Mark the task done with what was done; closing a done task is a Conflict."""
    await act_as(conn, actor)
    task = await get_recovery_task(conn, task_id=task_id, for_update=True)
    if task.status == "done":
        raise Conflict(f"recovery task {task_id} is already closed (by {task.closed_by}, {task.closed_at.isoformat()})")
    async with conn.cursor(row_factory=class_row(RecoveryTask)) as cur:
        await cur.execute(
            """
            update service.recovery_tasks
               set status = 'done', closed_at = now(), closed_by = %(actor)s, note = %(note)s
             where id = %(id)s
            returning *
            """,
            {"id": task_id, "actor": actor, "note": note},
        )
        return await cur.fetchone()

