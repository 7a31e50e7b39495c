"""Field work that moves the order too: planning, check-in and check-out, uploads, signatures, parts, the report.

Everything runs in the caller's transaction and records an event on the order; the order's row is locked
first, so steps on one order happen one after another. The rules of how a visit moves its order are in
service_core.fieldwork.rules.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from psycopg import AsyncConnection

from service_core.audit import act_as
from service_core.customers import service as customers_service
from service_core.engineers import service as engineers_service
from service_core.errors import Conflict, Unprocessable
from service_core.fieldwork import rules, service
from service_core.fieldwork.models import AttachmentMeta, ChecklistItem, PartUsed, Signature, Visit
from service_core.fieldwork.schemas import CheckIn, ChecklistItemUpdate, CheckOut, PartCreate, VisitCancel, VisitCreate
from service_core.notifications import service as notifications_service
from service_core.workorders import flows as workorders_flows
from service_core.workorders import service as workorders_service
from service_core.workorders.models import WorkOrder
from service_core.workorders.states import Status

# A device clock a little ahead is tolerated; an arrival an hour from now is a mistake.
CLOCK_SKEW = timedelta(minutes=5)
_FINISHED = frozenset({Status.COMPLETED, Status.CLOSED, Status.CANCELLED})


def _not_in_future(at: datetime | None, what: str) -> None:
    if at is not None and at > datetime.now(UTC) + CLOCK_SKEW:
        raise Unprocessable(f"{what} time {at.isoformat()} is in the future")


async def _open_order(conn: AsyncConnection, work_order_id: int, doing: str) -> WorkOrder:
    order = await workorders_service.get(conn, work_order_id=work_order_id, for_update=True)
    if order.status in _FINISHED:
        hint = " (reopen it first)" if order.status != Status.CANCELLED else ""
        raise Conflict(f"work order {work_order_id} is {order.status!r}: cannot {doing}{hint}")
    return order


async def _event(
    conn: AsyncConnection, order: WorkOrder, *, kind: str, actor: str, note: str | None = None, **details: object
) -> None:
    """A non-status event: the order keeps its status (from = to)."""
    await workorders_service.record_event(
        conn,
        work_order_id=order.id,
        actor=actor,
        kind=kind,
        from_status=order.status,
        to_status=order.status,
        engineer_id=order.engineer_id,
        note=note,
        details={k: v.isoformat() if isinstance(v, datetime) else v for k, v in details.items()},
    )


# --- visits ------------------------------------------------------------------------------------------------


async def plan_visit(conn: AsyncConnection, *, work_order_id: int, visit_in: VisitCreate) -> Visit:
    """Plan the order's next visit; gives the order to the visit's engineer (resuming a held order) when needed."""
    order = await _open_order(conn, work_order_id, "plan a visit")
    engineer = await engineers_service.get(conn, engineer_id=visit_in.engineer_id)
    if not engineer.active:
        raise Conflict(f"engineer {engineer.id} is inactive")
    if rules.assignment_for_visit(order.status, order_engineer=order.engineer_id, visit_engineer=engineer.id):
        order = await workorders_flows.assign_order(
            conn, work_order_id=work_order_id, engineer_id=engineer.id, actor=visit_in.actor, note="for a visit"
        )
    await act_as(conn, visit_in.actor)
    visit = await service.create_visit(
        conn, work_order_id=work_order_id, engineer_id=engineer.id, planned_at=visit_in.planned_at
    )
    await _event(
        conn,
        order,
        kind="visit_planned",
        actor=visit_in.actor,
        note=visit_in.note,
        visit_id=visit.id,
        seq=visit.seq,
        planned_at=visit.planned_at,
    )
    await notifications_service.enqueue(
        conn,
        topic=notifications_service.engineer_topic(engineer.id),
        payload={
            "event": "visit_planned",
            "work_order_id": work_order_id,
            "visit_id": visit.id,
            "seq": visit.seq,
            "planned_at": visit.planned_at,
            "asset_id": order.asset_id,
            "title": order.title,
        },
    )
    return visit


async def check_in(conn: AsyncConnection, *, visit_id: int, check_in_in: CheckIn) -> Visit:
    """The engineer arrives: the visit is checked in and an accepted or en_route order goes on_site."""
    _not_in_future(check_in_in.at, "check-in")
    planned = await service.get_visit(conn, visit_id=visit_id)
    order = await _open_order(conn, planned.work_order_id, "check in")
    if order.engineer_id != planned.engineer_id:
        raise Conflict(
            f"visit {visit_id} is planned for engineer {planned.engineer_id} but the order is now engineer"
            f" {order.engineer_id}'s: cancel it and plan a new one"
        )
    target = rules.status_at_check_in(order.status)
    await act_as(conn, check_in_in.actor)
    visit = await service.check_in(conn, visit_id=visit_id, at=check_in_in.at, lat=check_in_in.lat, lon=check_in_in.lon)
    await _event(
        conn,
        order,
        kind="checked_in",
        actor=check_in_in.actor,
        visit_id=visit.id,
        seq=visit.seq,
        at=visit.check_in_at,
        lat=visit.check_in_lat,
        lon=visit.check_in_lon,
    )
    if target is not None:
        await workorders_service.transition(
            conn, work_order_id=order.id, target=target, actor=check_in_in.actor, note=f"checked in (visit {visit.seq})"
        )
    return visit


async def check_out(conn: AsyncConnection, *, visit_id: int, check_out_in: CheckOut) -> Visit:
    """The engineer leaves with an outcome: fixed readies the order for completion, anything else holds it."""
    _not_in_future(check_out_in.at, "check-out")
    current = await service.get_visit(conn, visit_id=visit_id)
    order = await workorders_service.get(conn, work_order_id=current.work_order_id, for_update=True)
    move = rules.move_at_check_out(order.status, check_out_in.outcome)
    await act_as(conn, check_out_in.actor)
    visit = await service.check_out(
        conn,
        visit_id=visit_id,
        at=check_out_in.at,
        lat=check_out_in.lat,
        lon=check_out_in.lon,
        outcome=check_out_in.outcome,
        labour_minutes=check_out_in.labour_minutes,
        notes=check_out_in.notes,
    )
    await _event(
        conn,
        order,
        kind="checked_out",
        actor=check_out_in.actor,
        note=check_out_in.notes,
        visit_id=visit.id,
        seq=visit.seq,
        at=visit.check_out_at,
        lat=visit.check_out_lat,
        lon=visit.check_out_lon,
        outcome=visit.outcome,
        labour_minutes=visit.labour_minutes,
    )
    if move is not None:
        target, reason = move
        await workorders_service.transition(
            conn,
            work_order_id=order.id,
            target=target,
            reason=reason,
            actor=check_out_in.actor,
            note=f"visit {visit.seq}: {visit.outcome}",
        )
    return visit


async def cancel_visit(conn: AsyncConnection, *, visit_id: int, cancel_in: VisitCancel) -> Visit:
    """Call off a planned visit."""
    current = await service.get_visit(conn, visit_id=visit_id)
    order = await workorders_service.get(conn, work_order_id=current.work_order_id, for_update=True)
    await act_as(conn, cancel_in.actor)
    visit = await service.cancel_visit(conn, visit_id=visit_id)
    await _event(
        conn,
        order,
        kind="visit_cancelled",
        actor=cancel_in.actor,
        note=cancel_in.note,
        visit_id=visit.id,
        seq=visit.seq,
    )
    return visit


# --- checklist, uploads, signature, parts ------------------------------------------------------------------


async def update_checklist_item(
    conn: AsyncConnection, *, work_order_id: int, item_id: int, item_in: ChecklistItemUpdate
) -> ChecklistItem:
    """Tick or untick one item; a finished order's checklist stays as it was."""
    await _open_order(conn, work_order_id, "change its checklist")
    await act_as(conn, item_in.actor)
    _, item = await service.update_checklist_item(
        conn, work_order_id=work_order_id, item_id=item_id, done=item_in.done, note=item_in.note, actor=item_in.actor
    )
    return item


async def add_attachment(
    conn: AsyncConnection,
    *,
    work_order_id: int,
    kind: str,
    filename: str,
    declared_type: str | None,
    content: bytes,
    actor: str,
) -> AttachmentMeta:
    """Keep a checked photo or file on the order."""
    order = await workorders_service.get(conn, work_order_id=work_order_id, for_update=True)
    content_type = rules.check_upload(kind, filename=filename, declared_type=declared_type, content=content)
    await act_as(conn, actor)
    attachment = await service.create_attachment(
        conn,
        work_order_id=work_order_id,
        kind=kind,
        filename=filename,
        content_type=content_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        actor=actor,
    )
    await _event(
        conn,
        order,
        kind="attachment_added",
        actor=actor,
        attachment_id=attachment.id,
        attachment_kind=kind,
        filename=filename,
        content_type=content_type,
        size_bytes=attachment.size_bytes,
    )
    return attachment


async def sign(
    conn: AsyncConnection,
    *,
    work_order_id: int,
    signer_name: str | None,
    filename: str | None,
    declared_type: str | None,
    content: bytes | None,
    no_signature_reason: str | None,
    actor: str,
) -> Signature:
    """The customer's signature (a PNG or JPEG and the signer's name), or the reason none could be taken."""
    order = await _open_order(conn, work_order_id, "take a signature")
    if content is not None:
        if no_signature_reason is not None:
            raise Unprocessable("give either a signature image with signer_name, or no_signature_reason, not both")
        if signer_name is None:
            raise Unprocessable("a signature needs the signer_name")
        content_type = rules.check_upload(
            "signature", filename=filename or "signature", declared_type=declared_type, content=content
        )
        await act_as(conn, actor)
        attachment = await service.create_attachment(
            conn,
            work_order_id=work_order_id,
            kind="signature",
            filename=filename or "signature",
            content_type=content_type,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            actor=actor,
        )
        signature = await service.create_signature(
            conn,
            work_order_id=work_order_id,
            attachment_id=attachment.id,
            signer_name=signer_name,
            no_signature_reason=None,
            actor=actor,
        )
        await _event(
            conn,
            order,
            kind="signed",
            actor=actor,
            signature_id=signature.id,
            attachment_id=attachment.id,
            signer_name=signer_name,
        )
        return signature
    if no_signature_reason is None:
        raise Unprocessable("send a signature image (file, PNG or JPEG) with signer_name, or no_signature_reason")
    if signer_name is not None:
        raise Unprocessable("signer_name goes with a signature image, not with no_signature_reason")
    await act_as(conn, actor)
    signature = await service.create_signature(
        conn,
        work_order_id=work_order_id,
        attachment_id=None,
        signer_name=None,
        no_signature_reason=no_signature_reason,
        actor=actor,
    )
    await _event(
        conn, order, kind="signature_not_taken", actor=actor, note=no_signature_reason, signature_id=signature.id
    )
    return signature


async def record_part(conn: AsyncConnection, *, work_order_id: int, part_in: PartCreate) -> PartUsed:
    """A part fitted on the order (while it is open)."""
    order = await _open_order(conn, work_order_id, "record parts")
    await act_as(conn, part_in.actor)
    part = await service.create_part(
        conn,
        work_order_id=work_order_id,
        visit_id=part_in.visit_id,
        part_number=part_in.part_number,
        description=part_in.description,
        quantity=part_in.quantity,
        unit_cost=part_in.unit_cost,
        actor=part_in.actor,
    )
    await _event(
        conn,
        order,
        kind="part_used",
        actor=part_in.actor,
        part_id=part.id,
        part_number=part.part_number,
        quantity=str(part.quantity),
        unit_cost=str(part.unit_cost),
        visit_id=part.visit_id,
    )
    return part


# --- the service report ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    """Everything the job left on record, with who pays what."""

    order: WorkOrder
    customer: str
    site: str
    site_address: str | None
    asset_model: str
    asset_serial: str
    engineer: str | None
    hold_reason: str | None
    completed_at: datetime | None
    visits: list[Visit]
    labour_minutes: int
    parts: list[PartUsed]
    checklist: list[ChecklistItem]
    attachments: list[AttachmentMeta]
    signatures: list[Signature]
    billing: dict
    cost: rules.Cost


async def report(conn: AsyncConnection, *, work_order_id: int, today: date | None = None) -> Report:
    """The service report of an order: visits, labour, parts, checklist, signature, resolution, billing, cost."""
    order = await workorders_service.get(conn, work_order_id=work_order_id)
    asset = await customers_service.get_asset(conn, asset_id=order.asset_id)
    site = await customers_service.get_site(conn, site_id=asset.site_id)
    customer = await customers_service.get(conn, customer_id=site.customer_id)
    engineer = await engineers_service.get(conn, engineer_id=order.engineer_id) if order.engineer_id else None
    completed_at = None
    if order.status in (Status.COMPLETED, Status.CLOSED):
        completed_at = await workorders_service.completed_at(conn, work_order_id=work_order_id)
    # a finished order is billed as things stood when it was completed; an open one as they stand today
    on = completed_at.date() if completed_at else (today or datetime.now(UTC).date())
    visits = await service.get_visits(conn, work_order_id=work_order_id)
    parts = await service.get_parts(conn, work_order_id=work_order_id)
    contract = await service.get_active_contract(conn, customer_id=customer.id, on=on)
    billing = order.billing or await service.default_billing(conn, asset_id=order.asset_id, on=on)
    covered = rules.coverage(billing, contract)
    labour_minutes = sum(v.labour_minutes or 0 for v in visits if v.status == "checked_out")
    return Report(
        order=order,
        customer=customer.name,
        site=site.name,
        site_address=site.address,
        asset_model=asset.model,
        asset_serial=asset.serial,
        engineer=engineer.name if engineer else None,
        hold_reason=order.hold_reason,
        completed_at=completed_at,
        visits=visits,
        labour_minutes=labour_minutes,
        parts=parts,
        checklist=await service.get_checklist(conn, work_order_id=work_order_id),
        attachments=await service.get_attachments(conn, work_order_id=work_order_id),
        signatures=await service.get_signatures(conn, work_order_id=work_order_id),
        billing={
            "billing": billing,
            "decided": order.billing is not None,
            "contract": contract.name if contract else None,
            "covers_labour": covered.labour,
            "covers_parts": covered.parts,
        },
        cost=rules.cost(
            labour_minutes=labour_minutes, parts=[(p.quantity, p.unit_cost) for p in parts], covered=covered
        ),
    )
