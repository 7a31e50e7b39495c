"""Field-work records in the database: visits, checklist items, attachments, signatures, parts, coverage.

Literal SQL with named parameters; tables other areas extend too (attachments, parts, contracts) are read
by explicit column lists, so a column added there does not break these rows.
Callers own the transaction and name the actor (service_core.audit.act_as) before writing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from psycopg import AsyncConnection, errors
from psycopg.rows import class_row

from service_core.audit import Change
from service_core.errors import Conflict, NotFound, Unprocessable
from service_core.fieldwork.models import (
    AttachmentContent,
    AttachmentMeta,
    ChecklistItem,
    Contract,
    PartUsed,
    Signature,
    Visit,
)

# --- visits ------------------------------------------------------------------------------------------------


async def get_visit(conn: AsyncConnection, *, visit_id: int, for_update: bool = False) -> Visit:
    """The visit, or NotFound; ``for_update`` locks it until the caller's transaction ends."""
    async with conn.cursor(row_factory=class_row(Visit)) as cur:
        if for_update:
            await cur.execute("select * from service.visits where id = %(id)s for update", {"id": visit_id})
        else:
            await cur.execute("select * from service.visits where id = %(id)s", {"id": visit_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"visit {visit_id} not found")
    return row


async def get_visits(conn: AsyncConnection, *, work_order_id: int) -> list[Visit]:
    """The order's visits in the order they were planned."""
    async with conn.cursor(row_factory=class_row(Visit)) as cur:
        await cur.execute(
            "select * from service.visits where work_order_id = %(id)s order by seq", {"id": work_order_id}
        )
        return await cur.fetchall()


async def create_visit(
    conn: AsyncConnection, *, work_order_id: int, engineer_id: int, planned_at: datetime | None
) -> Visit:
    """The order's next visit (seq counts up per order; the caller holds the order's row lock)."""
    async with conn.cursor(row_factory=class_row(Visit)) as cur:
        await cur.execute(
            """
            insert into service.visits (work_order_id, seq, engineer_id, planned_at)
            select %(work_order_id)s, coalesce(max(seq), 0) + 1, %(engineer_id)s, %(planned_at)s
              from service.visits where work_order_id = %(work_order_id)s
            returning *
            """,
            {"work_order_id": work_order_id, "engineer_id": engineer_id, "planned_at": planned_at},
        )
        return await cur.fetchone()


async def check_in(conn: AsyncConnection, *, visit_id: int, at: datetime | None, lat: float, lon: float) -> Visit:
    """Mark a planned visit checked in; Conflict when the order or the engineer already has one checked in."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(Visit)) as cur:
            await cur.execute(
                """
                update service.visits
                   set status = 'checked_in', check_in_at = coalesce(%(at)s, now()),
                       check_in_lat = %(lat)s, check_in_lon = %(lon)s
                 where id = %(id)s and status = 'planned'
                returning *
                """,
                {"id": visit_id, "at": at, "lat": lat, "lon": lon},
            )
            visit = await cur.fetchone()
    except errors.UniqueViolation as exc:
        visit = await get_visit(conn, visit_id=visit_id)
        if exc.diag.constraint_name == "visits_one_checked_in_per_engineer":
            other = await _checked_in(conn, column="engineer_id", value=visit.engineer_id)
            raise Conflict(
                f"engineer {visit.engineer_id} is already checked in on visit {other} elsewhere: check out there first"
            ) from None
        if exc.diag.constraint_name == "visits_one_checked_in_per_order":
            other = await _checked_in(conn, column="work_order_id", value=visit.work_order_id)
            raise Conflict(
                f"work order {visit.work_order_id} already has visit {other} checked in: one visit at a time"
            ) from None
        raise
    if visit is None:
        current = await get_visit(conn, visit_id=visit_id)
        raise Conflict(f"visit {visit_id} is {current.status!r}: only a planned visit can be checked in")
    return visit


async def _checked_in(conn: AsyncConnection, *, column: str, value: int) -> int | None:
    query = {
        "engineer_id": "select id from service.visits where engineer_id = %(v)s and status = 'checked_in'",
        "work_order_id": "select id from service.visits where work_order_id = %(v)s and status = 'checked_in'",
    }[column]
    cur = await conn.execute(query, {"v": value})
    row = await cur.fetchone()
    return row[0] if row else None


async def check_out(
    conn: AsyncConnection,
    *,
    visit_id: int,
    at: datetime | None,
    lat: float,
    lon: float,
    outcome: str,
    labour_minutes: int | None,
    notes: str | None,
) -> Visit:
    """End a checked-in visit with its outcome; labour defaults to the whole minutes between check-in and out."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(Visit)) as cur:
            await cur.execute(
                """
                update service.visits
                   set status = 'checked_out', check_out_at = coalesce(%(at)s, now()),
                       check_out_lat = %(lat)s, check_out_lon = %(lon)s, outcome = %(outcome)s, notes = %(notes)s,
                       labour_minutes = coalesce(
                           %(labour_minutes)s,
                           floor(extract(epoch from coalesce(%(at)s, now()) - check_in_at) / 60)::integer)
                 where id = %(id)s and status = 'checked_in'
                returning *
                """,
                {
                    "id": visit_id,
                    "at": at,
                    "lat": lat,
                    "lon": lon,
                    "outcome": outcome,
                    "labour_minutes": labour_minutes,
                    "notes": notes,
                },
            )
            visit = await cur.fetchone()
    except errors.CheckViolation as exc:
        if exc.diag.constraint_name == "visits_check_out_after_in":
            raise Unprocessable(f"visit {visit_id} cannot check out before it checked in") from None
        if exc.diag.constraint_name == "visits_labour_minutes_check":
            raise Unprocessable("labour_minutes must be between 0 and 10080 (a week)") from None
        raise
    if visit is None:
        current = await get_visit(conn, visit_id=visit_id)
        raise Conflict(f"visit {visit_id} is {current.status!r}: only a checked-in visit can be checked out")
    return visit


async def cancel_visit(conn: AsyncConnection, *, visit_id: int) -> Visit:
    """Cancel a planned visit."""
    async with conn.cursor(row_factory=class_row(Visit)) as cur:
        await cur.execute(
            "update service.visits set status = 'cancelled' where id = %(id)s and status = 'planned' returning *",
            {"id": visit_id},
        )
        visit = await cur.fetchone()
    if visit is None:
        current = await get_visit(conn, visit_id=visit_id)
        raise Conflict(f"visit {visit_id} is {current.status!r}: only a planned visit can be cancelled")
    return visit


# --- checklist ---------------------------------------------------------------------------------------------


async def get_checklist(conn: AsyncConnection, *, work_order_id: int) -> list[ChecklistItem]:
    """The order's checklist in its order."""
    async with conn.cursor(row_factory=class_row(ChecklistItem)) as cur:
        await cur.execute(
            "select * from service.checklist_items where work_order_id = %(id)s order by position",
            {"id": work_order_id},
        )
        return await cur.fetchall()


async def update_checklist_item(
    conn: AsyncConnection, *, work_order_id: int, item_id: int, done: bool, note: str | None, actor: str
) -> tuple[ChecklistItem, ChecklistItem]:
    """Tick or untick an item of the order's checklist; returns it before and after."""
    async with conn.cursor(row_factory=class_row(ChecklistItem)) as cur:
        await cur.execute(
            """
            select * from service.checklist_items
             where id = %(item_id)s and work_order_id = %(work_order_id)s
               for update
            """,
            {"item_id": item_id, "work_order_id": work_order_id},
        )
        before = await cur.fetchone()
        if before is None:
            raise NotFound(f"checklist item {item_id} not found on work order {work_order_id}")
        await cur.execute(
            """
            update service.checklist_items
               set done = %(done)s, note = coalesce(%(note)s, note),
                   done_by = case when %(done)s then coalesce(case when done then done_by end, %(actor)s) end,
                   done_at = case when %(done)s then coalesce(case when done then done_at end, now()) end
             where id = %(item_id)s
            returning *
            """,
            {"item_id": item_id, "done": done, "note": note, "actor": actor},
        )
        return before, await cur.fetchone()


# --- attachments and signatures ----------------------------------------------------------------------------


async def create_attachment(
    conn: AsyncConnection,
    *,
    work_order_id: int,
    kind: str,
    filename: str,
    content_type: str,
    content: bytes,
    sha256: str,
    actor: str,
) -> AttachmentMeta:
    """Store an upload already checked by rules.check_upload."""
    async with conn.cursor(row_factory=class_row(AttachmentMeta)) as cur:
        await cur.execute(
            """
            insert into service.attachments
                   (work_order_id, kind, filename, content_type, size_bytes, sha256, content, uploaded_by)
            values (%(work_order_id)s, %(kind)s, %(filename)s, %(content_type)s, %(size)s, %(sha256)s,
                    %(content)s, %(actor)s)
            returning id, work_order_id, kind, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at
            """,
            {
                "work_order_id": work_order_id,
                "kind": kind,
                "filename": filename,
                "content_type": content_type,
                "size": len(content),
                "sha256": sha256,
                "content": content,
                "actor": actor,
            },
        )
        return await cur.fetchone()


async def get_attachments(conn: AsyncConnection, *, work_order_id: int) -> list[AttachmentMeta]:
    """The order's attachments without their bytes, oldest first."""
    async with conn.cursor(row_factory=class_row(AttachmentMeta)) as cur:
        await cur.execute(
            """
            select id, work_order_id, kind, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at
              from service.attachments
             where work_order_id = %(id)s
             order by id
            """,
            {"id": work_order_id},
        )
        return await cur.fetchall()


async def get_attachment_content(conn: AsyncConnection, *, attachment_id: int) -> AttachmentContent:
    """An attachment's bytes with their type, or NotFound."""
    async with conn.cursor(row_factory=class_row(AttachmentContent)) as cur:
        await cur.execute(
            "select id, filename, content_type, sha256, content from service.attachments where id = %(id)s",
            {"id": attachment_id},
        )
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"attachment {attachment_id} not found")
    return row


async def create_signature(
    conn: AsyncConnection,
    *,
    work_order_id: int,
    attachment_id: int | None,
    signer_name: str | None,
    no_signature_reason: str | None,
    actor: str,
) -> Signature:
    """Record the customer's signature (an attachment of kind signature) or why none could be taken."""
    async with conn.cursor(row_factory=class_row(Signature)) as cur:
        await cur.execute(
            """
            insert into service.signatures (work_order_id, attachment_id, signer_name, no_signature_reason, recorded_by)
            values (%(work_order_id)s, %(attachment_id)s, %(signer_name)s, %(reason)s, %(actor)s)
            returning *
            """,
            {
                "work_order_id": work_order_id,
                "attachment_id": attachment_id,
                "signer_name": signer_name,
                "reason": no_signature_reason,
                "actor": actor,
            },
        )
        return await cur.fetchone()


async def get_signatures(conn: AsyncConnection, *, work_order_id: int) -> list[Signature]:
    """The order's signatures (and reasons for none), oldest first."""
    async with conn.cursor(row_factory=class_row(Signature)) as cur:
        await cur.execute(
            "select * from service.signatures where work_order_id = %(id)s order by id",
            {"id": work_order_id},
        )
        return await cur.fetchall()


# --- parts, contracts, billing -----------------------------------------------------------------------------


async def create_part(
    conn: AsyncConnection,
    *,
    work_order_id: int,
    visit_id: int | None,
    part_number: str,
    description: str | None,
    quantity: Decimal,
    unit_cost: Decimal,
    actor: str,
) -> PartUsed:
    """Record a part fitted on the order (on one of its visits, when given)."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(PartUsed)) as cur:
            await cur.execute(
                """
                insert into service.parts_used
                       (work_order_id, visit_id, part_number, description, quantity, unit_cost, recorded_by)
                values (%(work_order_id)s, %(visit_id)s, %(part_number)s, %(description)s, %(quantity)s,
                        %(unit_cost)s, %(actor)s)
                returning id, work_order_id, visit_id, part_number, description, quantity, unit_cost,
                          recorded_by, recorded_at
                """,
                {
                    "work_order_id": work_order_id,
                    "visit_id": visit_id,
                    "part_number": part_number,
                    "description": description,
                    "quantity": quantity,
                    "unit_cost": unit_cost,
                    "actor": actor,
                },
            )
            return await cur.fetchone()
    except errors.ForeignKeyViolation as exc:
        if exc.diag.constraint_name in ("parts_used_visit_of_order", "parts_used_visit_id_fkey"):
            raise Unprocessable(f"visit {visit_id} is not a visit of work order {work_order_id}") from None
        raise


async def get_parts(conn: AsyncConnection, *, work_order_id: int) -> list[PartUsed]:
    """Parts fitted on the order, in the order they were recorded."""
    async with conn.cursor(row_factory=class_row(PartUsed)) as cur:
        await cur.execute(
            """
            select id, work_order_id, visit_id, part_number, description, quantity, unit_cost, recorded_by, recorded_at
              from service.parts_used
             where work_order_id = %(id)s
             order by id
            """,
            {"id": work_order_id},
        )
        return await cur.fetchall()


async def get_active_contract(conn: AsyncConnection, *, customer_id: int, on: date) -> Contract | None:
    """The customer's contract running on ``on`` (the one ending last when several do)."""
    async with conn.cursor(row_factory=class_row(Contract)) as cur:
        await cur.execute(
            """
            select id, customer_id, name, level, starts_on, ends_on, covers_labour, covers_parts from service.contracts
             where customer_id = %(customer_id)s and %(on)s between starts_on and ends_on
             order by ends_on desc, id desc
             limit 1
            """,
            {"customer_id": customer_id, "on": on},
        )
        return await cur.fetchone()


async def default_billing(conn: AsyncConnection, *, asset_id: str, on: date) -> str:
    """Who would pay for work on the asset on ``on``: warranty, contract or billable (the database decides)."""
    cur = await conn.execute("select service.default_billing(%(asset_id)s, %(on)s)", {"asset_id": asset_id, "on": on})
    (billing,) = await cur.fetchone()
    return billing


async def get_changes(conn: AsyncConnection, *, work_order_id: int) -> list[Change]:
    """The audited changes of the order's visits, checklist items, parts and signatures, oldest first."""
    async with conn.cursor(row_factory=class_row(Change)) as cur:
        await cur.execute(
            """
            select a.id, a.at, a.actor, a.table_name, a.row_id, a.action, a.before, a.after
              from service.audit_log a
             where (a.table_name = 'visits'
                    and a.row_id in (select id::text from service.visits where work_order_id = %(id)s))
                or (a.table_name = 'checklist_items'
                    and a.row_id in (select id::text from service.checklist_items where work_order_id = %(id)s))
                or (a.table_name = 'parts_used'
                    and a.row_id in (select id::text from service.parts_used where work_order_id = %(id)s))
                or (a.table_name = 'signatures'
                    and a.row_id in (select id::text from service.signatures where work_order_id = %(id)s))
             order by a.id
            """,
            {"id": work_order_id},
        )
        return await cur.fetchall()
