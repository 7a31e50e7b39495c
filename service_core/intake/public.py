"""The public pages a customer reaches by scanning an asset's QR code: report a problem, follow it.

Server-rendered HTML, no login and no JavaScript. The token in the URL is the only key: it names one asset
and is unguessable, and a request's status page needs both the token and the request's tracking code.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from service_core.deps import ConnDep
from service_core.errors import NotFound
from service_core.intake import qr, service
from service_core.intake.models import PublicStatus, QrAsset
from service_core.intake.reports import Report, Upload, content_type_of, subject_of
from service_core.intake.schemas import QrReportForm

router = APIRouter(tags=["public pages"], include_in_schema=False)

QR_ACTOR = "customer:qr"
MAX_PHOTO_BYTES = 10 * 1024 * 1024
LABELS = {"name": "Your name", "contact": "E-mail or phone", "description": "What is wrong?", "photo": "Photo"}
_REQUEST_SAYS = {
    "open": "Received: our service desk will look at it shortly.",
    "triaged": "A service job has been opened for it.",
    "duplicate": "We already knew about this problem: your report was added to the earlier one.",
    "rejected": "Closed without a service job; our service desk will contact you.",
}
_ORDER_SAYS = {
    "new": "opened, waiting for an engineer",
    "assigned": "an engineer has been assigned",
    "accepted": "the engineer has accepted the job",
    "en_route": "the engineer is on the way",
    "on_site": "the engineer is on site",
    "in_progress": "work in progress",
    "on_hold": "on hold",
    "completed": "the work is done",
    "closed": "closed",
    "cancelled": "cancelled",
}


def _plain(error: dict) -> str:
    """A validation error in words a customer reads on a form."""
    if error["type"] == "string_too_short":
        return "please fill this in"
    if error["type"] == "string_too_long":
        return f"too long: at most {error['ctx']['max_length']} characters"
    return error["msg"].removeprefix("Value error, ")


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)


def _unknown(request: Request, message: str) -> HTMLResponse:
    return _page(request, "intake_unknown.html", {"heading": "Unknown code", "message": message}, 404)


def _report_page(
    request: Request, asset: QrAsset, *, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> HTMLResponse:
    context = {
        "asset": asset, "values": values, "errors": errors, "labels": LABELS,
        "max_photo_mb": MAX_PHOTO_BYTES // (1024 * 1024),
    }
    return _page(request, "intake_report.html", context, status_code)


@router.get("/r/{token}", response_class=HTMLResponse, name="qr_page")
async def qr_page(request: Request, conn: ConnDep, token: str):
    """The asset and the report form."""
    try:
        asset = await qr.get_asset_by_token(conn, token=token)
    except NotFound:
        return _unknown(request, "This QR code is unknown: we cannot tell which equipment it belongs to.")
    return _report_page(request, asset, values={"name": "", "contact": "", "description": ""}, errors={})


@router.post("/r/{token}", response_class=HTMLResponse, name="qr_submit")
async def qr_submit(request: Request, conn: ConnDep, token: str):
    """Store the report and send the customer to its status page (303); a bad form comes back (422) as typed."""
    try:
        asset = await qr.get_asset_by_token(conn, token=token)
    except NotFound:
        return _unknown(request, "This QR code is unknown: your report could not be matched to any equipment.")
    async with request.form(max_files=1, max_fields=10) as form:  # closes the spooled upload afterwards
        values = {k: v if isinstance(v := form.get(k, ""), str) else "" for k in ("name", "contact", "description")}
        photo, problem = await _photo(form.get("photo"))
    errors: dict[str, str] = {"photo": problem} if problem else {}
    try:
        report_in = QrReportForm(**values)
    except ValidationError as exc:
        report_in = None
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(field, _plain(error))
    if report_in is None or errors:
        return _report_page(request, asset, values=values, errors=errors, status_code=422)
    original = {
        "name": report_in.name, "contact": report_in.contact, "description": report_in.description,
        "photo": {"filename": photo.filename, "content_type": photo.content_type, "size_bytes": len(photo.content),
                  "sha256": photo.sha256} if photo else None,
    }
    intake = await service.create(
        conn,
        report=Report(
            channel="qr",
            asset_id=asset.asset_id,
            subject=subject_of(report_in.description, fallback="Reported through the QR code"),
            description=report_in.description,
            reporter_name=report_in.name,
            reporter_email=report_in.email,
            reporter_phone=report_in.phone,
            actor=QR_ACTOR,
            original=json.dumps(original).encode(),
            original_type="application/json",
            attachments=(photo,) if photo else (),
        ),
    )
    url = request.url_for("qr_status", token=token, tracking_code=intake.request.tracking_code)
    return RedirectResponse(str(url), status_code=303)


@router.get("/r/{token}/requests/{tracking_code}", response_class=HTMLResponse, name="qr_status")
async def qr_status(request: Request, conn: ConnDep, token: str, tracking_code: str):
    """Where the customer follows the request: its status, its service job's, the planned visit."""
    try:
        asset = await qr.get_asset_by_token(conn, token=token)
        status: PublicStatus = await qr.get_public_status(conn, asset_id=asset.asset_id, tracking_code=tracking_code)
    except NotFound:
        return _unknown(request, "We know of no such request on this equipment.")
    context = {
        "asset": asset,
        "status": status,
        "request_says": _REQUEST_SAYS.get(status.status, status.status),
        "order_says": _ORDER_SAYS.get(status.work_order_status or "", status.work_order_status),
    }
    return _page(request, "intake_status.html", context)


async def _photo(value: object) -> tuple[Upload | None, str | None]:
    """The uploaded photo, or what is wrong with it; no file chosen is no photo."""
    if not isinstance(value, UploadFile) or not value.filename:
        return None, None
    content = await value.read(MAX_PHOTO_BYTES + 1)
    if not content:
        return None, None
    if len(content) > MAX_PHOTO_BYTES:
        return None, f"the photo is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB"
    content_type = content_type_of(value.content_type)
    if not content_type.startswith("image/"):
        return None, f"{value.filename!r} is not a picture (got {content_type})"
    return Upload(filename=value.filename, content_type=content_type, content=content), None

