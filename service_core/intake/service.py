"""Service requests: store a report from any channel, link duplicates, triage into a work order, reject.

Callers own the transaction. Whether a report is a duplicate is decided while holding a per-asset advisory
lock (and the one-open-request-per-asset index backs it), so two reports of the same asset at the same
moment give one request and one duplicate, never two open requests.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import AsyncConnection, errors
from psycopg.rows import class_row

from service_core.audit import act_as
from service_core.customers import service as customers_service
from service_core.errors import Conflict, NotFound
from service_core.intake.models import AttachmentInfo, RequestInput, ServiceRequest
from service_core.intake.reports import DUPLICATE_WINDOW, Report, Upload, new_tracking_code
from service_core.workorders import service as workorders_service

# first key of the advisory locks intake takes (the second is the asset's hash)
_LOCK_SPACE = 303
_OPEN_ORDER = "w.status not in ('completed', 'closed', 'cancelled')"

_INSERT = """
insert into service.service_requests
       (tracking_code, channel, status, customer_id, site_id, asset_id, reporter_name, reporter_email,
        reporter_phone, subject, description, fault_code, priority, external_id, actor, work_order_id,
        duplicate_of, triaged_at, triaged_by)
select %(tracking_code)s, %(channel)s, %(status)s, s.customer_id, a.site_id, a.id, %(reporter_name)s,
       %(reporter_email)s, %(reporter_phone)s, %(subject)s, %(description)s, %(fault_code)s, %(priority)s,
       %(external_id)s, %(actor)s, %(work_order_id)s, %(duplicate_of)s,
       case when %(status)s = 'triaged' then now() end, case when %(status)s = 'triaged' then %(actor)s end
  from service.assets a join service.sites s on s.id = a.site_id
 where a.id = %(asset_id)s
on conflict on constraint service_requests_channel_external_key do nothing
returning *
"""

_DUPLICATE_TARGET = f"""
select r.* from service.service_requests r
  left join service.work_orders w on w.id = r.work_order_id
 where r.asset_id = %(asset_id)s
   and (r.status = 'open'
        or (r.status = 'triaged' and {_OPEN_ORDER} and r.received_at > now() - %(window)s))
 order by r.status = 'triaged' desc, r.id desc
 limit 1
"""


@dataclass(frozen=True, slots=True)
class Intake:
    """The request a report became; ``created`` is False for a redelivery of one already stored."""

    request: ServiceRequest
    created: bool

    @property
    def duplicate(self) -> bool:
        return self.request.status == "duplicate"


async def get(conn: AsyncConnection, *, request_id: int, for_update: bool = False) -> ServiceRequest:
    """The request, or NotFound."""
    lock = " for update" if for_update else ""
    async with conn.cursor(row_factory=class_row(ServiceRequest)) as cur:
        await cur.execute("select * from service.service_requests where id = %(id)s" + lock, {"id": request_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"service request {request_id} not found")
    return row


async def get_by_tracking_code(conn: AsyncConnection, *, tracking_code: str) -> ServiceRequest:
    """The request the customer's tracking code names, or NotFound."""
    async with conn.cursor(row_factory=class_row(ServiceRequest)) as cur:
        await cur.execute(
            "select * from service.service_requests where tracking_code = %(code)s", {"code": tracking_code}
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"service request {tracking_code!r} not found")
    return row


async def get_by_external_id(conn: AsyncConnection, *, channel: str, external_id: str) -> ServiceRequest | None:
    """The request a channel's message already became, if any."""
    async with conn.cursor(row_factory=class_row(ServiceRequest)) as cur:
        await cur.execute(
            "select * from service.service_requests where channel = %(channel)s and external_id = %(external_id)s",
            {"channel": channel, "external_id": external_id},
        )
        return await cur.fetchone()


async def get_all(
    conn: AsyncConnection,
    *,
    status: str | None = None,
    channel: str | None = None,
    asset_id: str | None = None,
    customer_id: int | None = None,
    work_order_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ServiceRequest]:
    """Requests matching every filter given, newest first."""
    async with conn.cursor(row_factory=class_row(ServiceRequest)) as cur:
        await cur.execute(
            """
            select * from service.service_requests
             where (%(status)s::text is null or status = %(status)s)
               and (%(channel)s::text is null or channel = %(channel)s)
               and (%(asset_id)s::text is null or asset_id = %(asset_id)s)
               and (%(customer_id)s::bigint is null or customer_id = %(customer_id)s)
               and (%(work_order_id)s::bigint is null or work_order_id = %(work_order_id)s)
             order by id desc
             limit %(limit)s offset %(offset)s
            """,
            {
                "status": status,
                "channel": channel,
                "asset_id": asset_id,
                "customer_id": customer_id,
                "work_order_id": work_order_id,
                "limit": limit,
                "offset": offset,
            },
        )
        return await cur.fetchall()


async def get_duplicates(conn: AsyncConnection, *, request_id: int) -> list[ServiceRequest]:
    """The requests linked to this one as its duplicates, oldest first."""
    async with conn.cursor(row_factory=class_row(ServiceRequest)) as cur:
        await cur.execute(
            "select * from service.service_requests where duplicate_of = %(id)s order by id", {"id": request_id}
        )
        return await cur.fetchall()


async def get_input(conn: AsyncConnection, *, request_id: int) -> RequestInput:
    """What the channel delivered for this request, byte for byte."""
    async with conn.cursor(row_factory=class_row(RequestInput)) as cur:
        await cur.execute("select * from service.service_request_inputs where request_id = %(id)s", {"id": request_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"service request {request_id} has no stored input")
    return row


async def get_attachments(conn: AsyncConnection, *, request_id: int) -> list[AttachmentInfo]:
    """The request's attachments, without their content."""
    async with conn.cursor(row_factory=class_row(AttachmentInfo)) as cur:
        await cur.execute(
            """
            select id, work_order_id, request_id, kind, filename, content_type, size_bytes, sha256, uploaded_by,
                   uploaded_at
              from service.attachments where request_id = %(id)s order by id
            """,
            {"id": request_id},
        )
        return await cur.fetchall()


async def create(conn: AsyncConnection, *, report: Report) -> Intake:
    """Store a report as a request: new, a duplicate of an earlier one, or the one a redelivery already made.

    NotFound when the asset is unknown. A duplicate of a request already triaged adds its text and
    attachments to that order as a ``duplicate_linked`` event.
    """
    await customers_service.get_asset(conn, asset_id=report.asset_id)
    await conn.execute(
        "select pg_advisory_xact_lock(%(space)s, hashtext(%(asset_id)s))",
        {"space": _LOCK_SPACE, "asset_id": report.asset_id},
    )
    # From here on this transaction is the only one deciding about this asset; each statement below sees
    # what the previous holder of the lock committed.
    if report.external_id is not None:
        existing = await get_by_external_id(conn, channel=report.channel, external_id=report.external_id)
        if existing is not None:
            return Intake(existing, created=False)
    async with conn.cursor(row_factory=class_row(ServiceRequest)) as cur:
        await cur.execute(_DUPLICATE_TARGET, {"asset_id": report.asset_id, "window": DUPLICATE_WINDOW})
        original = await cur.fetchone()
    await act_as(conn, report.actor)
    request = await _insert(
        conn,
        report=report,
        status="duplicate" if original else "open",
        duplicate_of=original.id if original else None,
        work_order_id=original.work_order_id if original else None,
    )
    if request is None:  # the same message, just stored by a concurrent transaction
        return Intake(await get_by_external_id(conn, channel=report.channel, external_id=report.external_id), False)
    await _store_input(conn, request=request, report=report)
    attachment_ids = [
        await add_attachment(conn, request_id=request.id, work_order_id=request.work_order_id, upload=upload,
                             uploaded_by=report.actor)
        for upload in report.attachments
    ]
    if original is not None and original.work_order_id is not None:
        await _record_duplicate(conn, request=request, work_order_id=original.work_order_id,
                                attachment_ids=attachment_ids, actor=report.actor)
    return Intake(request, created=True)


async def record_triaged(conn: AsyncConnection, *, report: Report, work_order_id: int) -> ServiceRequest:
    """A request already triaged into ``work_order_id`` (the detector's: it opens its order itself)."""
    await act_as(conn, report.actor)
    request = await _insert(conn, report=report, status="triaged", duplicate_of=None, work_order_id=work_order_id)
    if request is None:
        raise Conflict(f"{report.channel} message {report.external_id!r} is already a service request")
    await _store_input(conn, request=request, report=report)
    for upload in report.attachments:
        await add_attachment(conn, request_id=request.id, work_order_id=work_order_id, upload=upload,
                             uploaded_by=report.actor)
    return request


async def add_attachment(
    conn: AsyncConnection, *, request_id: int, work_order_id: int | None, upload: Upload, uploaded_by: str
) -> int:
    """Keep a photo or file of the request (and of its order, when it has one); returns its id."""
    cur = await conn.execute(
        """
        insert into service.attachments
               (work_order_id, request_id, kind, filename, content_type, size_bytes, sha256, content, uploaded_by)
        values (%(work_order_id)s, %(request_id)s, %(kind)s, %(filename)s, %(content_type)s, %(size)s, %(sha256)s,
                %(content)s, %(uploaded_by)s)
        returning id
        """,
        {
            "work_order_id": work_order_id,
            "request_id": request_id,
            "kind": upload.kind,
            "filename": upload.filename[:255],
            "content_type": upload.content_type,
            "size": len(upload.content),
            "sha256": upload.sha256,
            "content": upload.content,
            "uploaded_by": uploaded_by[:128],
        },
    )
    (attachment_id,) = await cur.fetchone()
    return attachment_id


async def triage(
    conn: AsyncConnection,
    *,
    request_id: int,
    type: str,
    actor: str,
    priority: str | None = None,
    title: str | None = None,
    failure_mode: str | None = None,
) -> ServiceRequest:
    """Open the work order an open request calls for, carrying everything the request holds.

    The request's attachments and those of its duplicates move onto the order; each duplicate is an event
    on it. A request that is not open (triaged, duplicate, rejected) is a Conflict.
    """
    request = await get(conn, request_id=request_id, for_update=True)
    _must_be_open(request, "triaged")
    duplicates = await get_duplicates(conn, request_id=request.id)
    order = await workorders_service.insert(
        conn,
        asset_id=request.asset_id,
        type=type,
        failure_mode=failure_mode,
        priority=priority or request.priority,
        title=title or request.subject,
        description=describe_for_order(request),
        fault_code=request.fault_code,
        actor=actor,
    )
    if order is None:
        existing = await workorders_service.get_open_preventive(
            conn, asset_id=request.asset_id, failure_mode=failure_mode
        )
        raise Conflict(
            f"asset {request.asset_id!r} already has an open preventive work order for {failure_mode}"
            + (f" (work order {existing.id}): link the request to it instead" if existing else "")
        )
    await act_as(conn, actor)
    async with conn.cursor(row_factory=class_row(ServiceRequest)) as cur:
        await cur.execute(
            """
            update service.service_requests
               set status = 'triaged', work_order_id = %(order)s, triaged_at = now(), triaged_by = %(actor)s
             where id = %(id)s
            returning *
            """,
            {"order": order.id, "actor": actor, "id": request.id},
        )
        triaged = await cur.fetchone()
        await cur.execute(
            "update service.service_requests set work_order_id = %(order)s where duplicate_of = %(id)s",
            {"order": order.id, "id": request.id},
        )
    cur = await conn.execute(
        """
        update service.attachments set work_order_id = %(order)s
         where request_id in (select id from service.service_requests where id = %(id)s or duplicate_of = %(id)s)
           and work_order_id is null
        returning id, request_id
        """,
        {"order": order.id, "id": request.id},
    )
    moved = await cur.fetchall()
    await workorders_service.record_event(
        conn,
        work_order_id=order.id,
        actor=actor,
        kind="request_triaged",
        from_status=order.status,
        to_status=order.status,
        note=f"from service request {request.tracking_code} ({request.channel})",
        details={
            "service_request_id": request.id,
            "tracking_code": request.tracking_code,
            "channel": request.channel,
            "attachment_ids": sorted(a for a, r in moved if r == request.id),
        },
    )
    for duplicate in duplicates:
        await _record_duplicate(
            conn, request=duplicate, work_order_id=order.id,
            attachment_ids=sorted(a for a, r in moved if r == duplicate.id), actor=actor,
        )
    return triaged


async def reject(conn: AsyncConnection, *, request_id: int, reason: str, actor: str) -> ServiceRequest:
    """Close an open request without an order, saying why."""
    request = await get(conn, request_id=request_id, for_update=True)
    _must_be_open(request, "rejected")
    await act_as(conn, actor)
    async with conn.cursor(row_factory=class_row(ServiceRequest)) as cur:
        await cur.execute(
            """
            update service.service_requests set status = 'rejected', reject_reason = %(reason)s
             where id = %(id)s
            returning *
            """,
            {"reason": reason, "id": request_id},
        )
        return await cur.fetchone()


def describe_for_order(request: ServiceRequest) -> str:
    """The order's description: what the customer said, who said it, how to reach them, where it came from."""
    contact = ", ".join(
        c for c in (request.reporter_name, request.reporter_email, request.reporter_phone) if c
    ) or "no contact given"
    lines = [request.description or request.subject, ""]
    if request.fault_code:
        lines.append(f"Fault code: {request.fault_code}")
    lines.append(f"Reported by: {contact}")
    lines.append(
        f"Service request {request.tracking_code} (id {request.id}) via {request.channel}, "
        f"received {request.received_at.isoformat()}"
    )
    return "\n".join(lines)


def _must_be_open(request: ServiceRequest, becoming: str) -> None:
    if request.status == "open":
        return
    if request.status == "triaged":
        raise Conflict(
            f"service request {request.id} is already triaged into work order {request.work_order_id}"
        )
    if request.status == "duplicate":
        raise Conflict(
            f"service request {request.id} is a duplicate of request {request.duplicate_of}; it cannot be {becoming}"
        )
    raise Conflict(f"service request {request.id} is {request.status}; it cannot be {becoming}")


async def _insert(
    conn: AsyncConnection, *, report: Report, status: str, duplicate_of: int | None, work_order_id: int | None
) -> ServiceRequest | None:
    params = {
        "channel": report.channel,
        "status": status,
        "asset_id": report.asset_id,
        "reporter_name": report.reporter_name,
        "reporter_email": report.reporter_email,
        "reporter_phone": report.reporter_phone,
        "subject": report.subject,
        "description": report.description,
        "fault_code": report.fault_code,
        "priority": report.priority,
        "external_id": report.external_id,
        "actor": report.actor,
        "work_order_id": work_order_id,
        "duplicate_of": duplicate_of,
    }
    for attempt in range(3):
        try:
            async with conn.transaction(), conn.cursor(row_factory=class_row(ServiceRequest)) as cur:
                await cur.execute(_INSERT, params | {"tracking_code": new_tracking_code()})
                return await cur.fetchone()
        except errors.UniqueViolation as exc:
            # 40 random bits: a clash of tracking codes is rare enough to simply draw again
            if exc.diag.constraint_name != "service_requests_tracking_code_key" or attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _store_input(conn: AsyncConnection, *, request: ServiceRequest, report: Report) -> None:
    await conn.execute(
        """
        insert into service.service_request_inputs (request_id, content_type, content)
        values (%(id)s, %(content_type)s, %(content)s)
        """,
        {"id": request.id, "content_type": report.original_type, "content": report.original},
    )


async def _record_duplicate(
    conn: AsyncConnection, *, request: ServiceRequest, work_order_id: int, attachment_ids: list[int], actor: str
) -> None:
    order = await workorders_service.get(conn, work_order_id=work_order_id)
    await workorders_service.record_event(
        conn,
        work_order_id=work_order_id,
        actor=actor,
        kind="duplicate_linked",
        from_status=order.status,
        to_status=order.status,
        engineer_id=order.engineer_id,
        note=describe_for_order(request),
        details={
            "service_request_id": request.id,
            "tracking_code": request.tracking_code,
            "duplicate_of": request.duplicate_of,
            "channel": request.channel,
            "subject": request.subject,
            "attachment_ids": attachment_ids,
        },
    )
