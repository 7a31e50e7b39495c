"""Routes of the service desk: an order's survey, and the recovery tasks detractors open."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service_core.deps import ConnDep
from service_core.surveys import service
from service_core.surveys.schemas import RecoveryTaskClose, RecoveryTaskRead, SurveyRead

router = APIRouter(tags=["surveys"])


@router.get("/work-orders/{work_order_id}/survey", response_model=SurveyRead)
async def get_order_survey(conn: ConnDep, work_order_id: int):
    """The order's survey: how and when it was sent, reminded, answered; 404 before the job has opened one."""
    survey = await service.get_by_work_order(conn, work_order_id=work_order_id)
    messages = await service.get_messages(conn, survey_id=survey.id)
    return SurveyRead(**asdict(survey), messages=messages)


@router.get("/recovery-tasks", response_model=list[RecoveryTaskRead])
async def get_recovery_tasks(
    conn: ConnDep,
    status: Literal["open", "done"] | None = None,
    supervisor_id: int | None = None,
    work_order_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
):
    """Service-recovery tasks opened by detractors' answers, the soonest due first."""
    return await service.get_recovery_tasks(
        conn, status=status, supervisor_id=supervisor_id, work_order_id=work_order_id, limit=limit, offset=offset
    )


@router.get("/recovery-tasks/{task_id}", response_model=RecoveryTaskRead)
async def get_recovery_task(conn: ConnDep, task_id: int):
    return await service.get_recovery_task(conn, task_id=task_id)


@router.post("/recovery-tasks/{task_id}/close", response_model=RecoveryTaskRead)
async def close_recovery_task(conn: ConnDep, task_id: int, close_in: RecoveryTaskClose):
    """Done: the supervisor says what was done for the customer; closing twice is a 409."""
    return await service.close_recovery_task(conn, task_id=task_id, note=close_in.note, actor=close_in.actor)
