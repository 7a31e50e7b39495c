"""The survey's public page, reached from the link in the invitation: no login, no JavaScript.

The token in the URL is the only key. The answer is stored once; a detractor's opens a service-recovery task.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from service_core.deps import ConnDep
from service_core.errors import NotFound
from service_core.surveys import flows, service
from service_core.surveys.models import SurveyPage
from service_core.surveys.rules import first_name
from service_core.surveys.schemas import SurveyAnswerForm

router = APIRouter(tags=["public pages"], include_in_schema=False)

FIELDS = ("csat", "nps", "comment")
LABELS = {"csat": "Your satisfaction", "nps": "Would you recommend us", "comment": "Your comment"}
_SCORE_PROBLEM = {"csat": "please choose a score from 1 to 5", "nps": "please choose a score from 0 to 10"}


def _plain(field: str, error: dict) -> str:
    """A validation error in words a customer reads on a form."""
    if field in _SCORE_PROBLEM:
        return _SCORE_PROBLEM[field]
    if error["type"] == "string_too_long":
        return f"too long: at most {error['ctx']['max_length']} characters"
    return error["msg"].removeprefix("Value error, ")


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)


def _unknown(request: Request) -> HTMLResponse:
    return _page(request, "survey_unknown.html", {}, 404)


def _job(page: SurveyPage) -> dict[str, Any]:
    return {"page": page, "engineer": first_name(page.engineer_name)}


def _done(request: Request, page: SurveyPage, *, already: bool, recovery: bool = False,
          status_code: int = 200) -> HTMLResponse:
    return _page(request, "survey_done.html", _job(page) | {"already": already, "recovery": recovery}, status_code)


def _form(request: Request, page: SurveyPage, *, values: dict[str, str], errors: dict[str, str],
          status_code: int = 200) -> HTMLResponse:
    context = _job(page) | {"values": values, "errors": errors, "labels": LABELS}
    return _page(request, "survey_form.html", context, status_code)


@router.get("/s/{token}", response_class=HTMLResponse, name="survey_page")
async def survey_page(request: Request, conn: ConnDep, token: str):
    """The job done and the two questions; an answered survey says so."""
    try:
        page = await service.get_page(conn, token=token)
    except NotFound:
        return _unknown(request)
    if page.answered_at is not None:
        return _done(request, page, already=True)
    return _form(request, page, values={"csat": "", "nps": "", "comment": ""}, errors={})


@router.post("/s/{token}", response_class=HTMLResponse, name="survey_submit")
async def survey_submit(request: Request, conn: ConnDep, token: str):
    """Store the answer (200 thank-you page); a bad form comes back as typed (422); a second answer is a 409."""
    try:
        page = await service.get_page(conn, token=token)
    except NotFound:
        return _unknown(request)
    async with request.form(max_files=0, max_fields=10) as form:
        values = {k: v if isinstance(v := form.get(k, ""), str) else "" for k in FIELDS}
    if page.answered_at is not None:
        return _done(request, page, already=True, status_code=409)
    errors: dict[str, str] = {}
    try:
        answer_in = SurveyAnswerForm(csat=values["csat"], nps=values["nps"], comment=values["comment"].strip() or None)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(field, _plain(field, error))
        return _form(request, page, values=values, errors=errors, status_code=422)
    try:
        answered = await flows.answer(conn, page=page, csat=answer_in.csat, nps=answer_in.nps,
                                      comment=answer_in.comment, now=datetime.now(UTC))
    except flows.AlreadyAnswered:
        return _done(request, page, already=True, status_code=409)
    return _done(request, page, already=False, recovery=answered.recovery_task is not None)
