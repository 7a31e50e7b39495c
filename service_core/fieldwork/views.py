"""Routes of field work: visits, check-in/out, checklists, photos and files, signature, parts, the service report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import HTMLResponse, Response

from service_core.deps import ConnDep
from service_core.errors import Unprocessable
from service_core.fieldwork import flows, rules, service
from service_core.fieldwork.schemas import (
    AttachmentRead,
    CheckIn,
    ChecklistItemRead,
    ChecklistItemUpdate,
    CheckOut,
    PartCreate,
    PartRead,
    ServiceReport,
    SignatureRead,
    VisitCancel,
    VisitCreate,
    VisitRead,
)
from service_core.schemas import ReadSchema
from service_core.workorders import service as workorders_service

router = APIRouter(tags=["field work"])

FormActor = Annotated[str, Form(min_length=1, max_length=128, description="Who does this")]


def _actor(value: str) -> str:
    actor = value.strip()
    if not actor:
        raise Unprocessable("actor must not be blank")
    return actor


async def _read(upload: UploadFile) -> bytes:
    """At most one byte over the limit, so an oversized upload is refused without holding all of it."""
    return await upload.read(rules.MAX_ATTACHMENT_BYTES + 1)


# --- visits ------------------------------------------------------------------------------------------------


@router.post("/work-orders/{work_order_id}/visits", response_model=VisitRead, status_code=status.HTTP_201_CREATED)
async def plan_visit(conn: ConnDep, work_order_id: int, visit_in: VisitCreate):
    """Plan a visit; a new, assigned or held order goes to the visit's engineer (a held one resumes)."""
    return await flows.plan_visit(conn, work_order_id=work_order_id, visit_in=visit_in)


@router.get("/work-orders/{work_order_id}/visits", response_model=list[VisitRead])
async def list_visits(conn: ConnDep, work_order_id: int):
    """The order's visits with their times, positions, outcomes and labour."""
    await workorders_service.get(conn, work_order_id=work_order_id)
    return await service.get_visits(conn, work_order_id=work_order_id)


@router.get("/visits/{visit_id}", response_model=VisitRead)
async def get_visit(conn: ConnDep, visit_id: int):
    return await service.get_visit(conn, visit_id=visit_id)


@router.post("/visits/{visit_id}/check-in", response_model=VisitRead)
async def check_in(conn: ConnDep, visit_id: int, check_in_in: CheckIn):
    """The engineer arrives (one visit checked in per order and per engineer); the order goes on_site."""
    return await flows.check_in(conn, visit_id=visit_id, check_in_in=check_in_in)


@router.post("/visits/{visit_id}/check-out", response_model=VisitRead)
async def check_out(conn: ConnDep, visit_id: int, check_out_in: CheckOut):
    """The engineer leaves: fixed moves the order to in_progress, any other outcome puts it on hold."""
    return await flows.check_out(conn, visit_id=visit_id, check_out_in=check_out_in)


@router.post("/visits/{visit_id}/cancel", response_model=VisitRead)
async def cancel_visit(conn: ConnDep, visit_id: int, cancel_in: VisitCancel):
    """Call off a planned visit."""
    return await flows.cancel_visit(conn, visit_id=visit_id, cancel_in=cancel_in)


# --- checklist ---------------------------------------------------------------------------------------------


@router.get("/work-orders/{work_order_id}/checklist", response_model=list[ChecklistItemRead])
async def get_checklist(conn: ConnDep, work_order_id: int):
    """The order's SOP checklist, copied from its type's template when the order was opened."""
    await workorders_service.get(conn, work_order_id=work_order_id)
    return await service.get_checklist(conn, work_order_id=work_order_id)


@router.post("/work-orders/{work_order_id}/checklist/{item_id}", response_model=ChecklistItemRead)
async def update_checklist_item(conn: ConnDep, work_order_id: int, item_id: int, item_in: ChecklistItemUpdate):
    """Tick (or untick) an item, with a note."""
    return await flows.update_checklist_item(conn, work_order_id=work_order_id, item_id=item_id, item_in=item_in)


# --- photos, files, signature ------------------------------------------------------------------------------


@router.post(
    "/work-orders/{work_order_id}/attachments", response_model=AttachmentRead, status_code=status.HTTP_201_CREATED
)
async def upload_attachment(
    conn: ConnDep,
    work_order_id: int,
    file: Annotated[UploadFile, File(description="Up to 10 MiB: JPEG, PNG, WebP; files also PDF, plain text, CSV")],
    actor: FormActor,
    kind: Annotated[Literal["photo", "file"], Form()] = "photo",
):
    """Keep a photo or a file on the order (413 when too big, 415 for a type it does not take)."""
    content = await _read(file)
    return await flows.add_attachment(
        conn,
        work_order_id=work_order_id,
        kind=kind,
        filename=(file.filename or "upload").strip()[-255:] or "upload",
        declared_type=file.content_type,
        content=content,
        actor=_actor(actor),
    )


@router.get("/work-orders/{work_order_id}/attachments", response_model=list[AttachmentRead])
async def list_attachments(conn: ConnDep, work_order_id: int):
    """The order's photos, files and signatures (without their bytes)."""
    await workorders_service.get(conn, work_order_id=work_order_id)
    return await service.get_attachments(conn, work_order_id=work_order_id)


@router.get("/attachments/{attachment_id}", response_class=Response)
async def download_attachment(conn: ConnDep, attachment_id: int):
    """The attachment's bytes, with the content type it was stored with."""
    attachment = await service.get_attachment_content(conn, attachment_id=attachment_id)
    return Response(
        content=attachment.content,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(attachment.filename)}",
            "ETag": f'"{attachment.sha256}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/work-orders/{work_order_id}/signature", response_model=SignatureRead, status_code=status.HTTP_201_CREATED
)
async def sign(
    conn: ConnDep,
    work_order_id: int,
    actor: FormActor,
    file: Annotated[UploadFile | None, File(description="The customer's signature, PNG or JPEG")] = None,
    signer_name: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
    no_signature_reason: Annotated[str | None, Form(min_length=1, max_length=2000)] = None,
):
    """The customer's signature with the signer's name, or why none could be taken (one or the other).

    Completing an order that had a visit needs one of them recorded after the last check-in.
    """
    return await flows.sign(
        conn,
        work_order_id=work_order_id,
        signer_name=signer_name.strip() or None if signer_name else None,
        filename=(file.filename or "signature").strip()[-255:] or "signature" if file else None,
        declared_type=file.content_type if file else None,
        content=await _read(file) if file else None,
        no_signature_reason=no_signature_reason.strip() or None if no_signature_reason else None,
        actor=_actor(actor),
    )


# --- parts, report, audit ----------------------------------------------------------------------------------


@router.post("/work-orders/{work_order_id}/parts", response_model=PartRead, status_code=status.HTTP_201_CREATED)
async def record_part(conn: ConnDep, work_order_id: int, part_in: PartCreate):
    """A part fitted on the order, on one of its visits when given."""
    return await flows.record_part(conn, work_order_id=work_order_id, part_in=part_in)


@router.get("/work-orders/{work_order_id}/parts", response_model=list[PartRead])
async def list_parts(conn: ConnDep, work_order_id: int):
    await workorders_service.get(conn, work_order_id=work_order_id)
    return await service.get_parts(conn, work_order_id=work_order_id)


@router.get("/work-orders/{work_order_id}/report", response_model=ServiceReport)
async def get_report(conn: ConnDep, work_order_id: int):
    """The service report: order, visits, labour, parts, checklist, signature, resolution, billing and cost."""
    return _report_read(await flows.report(conn, work_order_id=work_order_id))


@router.get("/work-orders/{work_order_id}/report.html", response_class=HTMLResponse)
async def get_report_page(request: Request, conn: ConnDep, work_order_id: int):
    """The service report as a printable page."""
    report = _report_read(await flows.report(conn, work_order_id=work_order_id))
    return request.app.state.templates.TemplateResponse(request, "service_report.html", {"report": report})


class FieldChangeRead(ReadSchema):
    id: int
    at: datetime
    actor: str
    table_name: str
    row_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.get("/work-orders/{work_order_id}/field-audit", response_model=list[FieldChangeRead])
async def field_audit(conn: ConnDep, work_order_id: int):
    """Every change of the order's visits, checklist items, parts and signatures: who, when, before and after."""
    await workorders_service.get(conn, work_order_id=work_order_id)
    return await service.get_changes(conn, work_order_id=work_order_id)


def _report_read(report: flows.Report) -> ServiceReport:
    return ServiceReport.model_validate(report)
