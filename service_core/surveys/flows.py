"""Work that crosses areas: a survey for each completed order, reminders, and answering with service recovery."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection

from service_core.audit import act_as
from service_core.errors import Conflict
from service_core.notifications import service as notifications
from service_core.surveys import rules, service
from service_core.surveys.models import RecoveryTask, Survey, SurveyPage

JOB_ACTOR = "survey-job"
CUSTOMER_ACTOR = "customer:survey"


def recovery_topic(supervisor_id: int) -> str:
    """Where a supervisor hears of the detractors they are to call back."""
    return f"fleetcare/supervisors/{supervisor_id}/recovery"


class AlreadyAnswered(Conflict):
    """The survey has its answer; a second one is not stored."""


@dataclass(frozen=True, slots=True)
class Answered:
    survey: Survey
    recovery_task: RecoveryTask | None


async def open_surveys(conn: AsyncConnection, *, now: datetime, channels: Collection[str]) -> list[Survey]:
    """A survey, with its invitation queued, for each order completed within MAX_AGE that has none."""
    await act_as(conn, JOB_ACTOR)
    opened = []
    for order in await service.get_unsurveyed(conn, since=now - rules.MAX_AGE):
        delivery = rules.choose_delivery(
            reporter_email=order.reporter_email, customer_email=order.customer_email, channels=channels
        )
        if isinstance(delivery, rules.Unsendable):
            survey = await service.create(
                conn, work_order_id=order.work_order_id, channel=None, recipient=None, unsendable_reason=delivery.reason
            )
        else:
            survey = await service.create(
                conn, work_order_id=order.work_order_id, channel=delivery.channel, recipient=delivery.recipient
            )
            if survey is not None:
                await service.create_message(
                    conn, survey_id=survey.id, kind="invitation", channel=delivery.channel,
                    recipient=delivery.recipient, due_at=now,
                )
        if survey is not None:  # None: another job opened it first
            opened.append(survey)
    return opened


async def queue_reminders(conn: AsyncConnection, *, now: datetime) -> int:
    """Queue the one reminder of each survey that is due one; returns how many were queued."""
    queued = 0
    for survey in await service.get_unanswered(conn, now=now):
        if rules.reminder_due(sent_at=survey.sent_at, answered_at=None, reminded=False, now=now):
            message_id = await service.create_message(
                conn, survey_id=survey.survey_id, kind="reminder", channel=survey.channel,
                recipient=survey.recipient, due_at=now,
            )
            queued += message_id is not None
    return queued


async def answer(
    conn: AsyncConnection, *, page: SurveyPage, csat: int | None, nps: int | None, comment: str | None, now: datetime
) -> Answered:
    """Store the customer's answer once (else AlreadyAnswered); a detractor's opens a recovery task."""
    await act_as(conn, CUSTOMER_ACTOR)
    survey = await service.answer(conn, token=page.token, csat=csat, nps=nps, comment=comment)
    if survey is None:
        raise AlreadyAnswered(f"survey {page.survey_id} was already answered")
    task = None
    if rules.is_detractor(csat=csat, nps=nps):
        task = await open_recovery(conn, page=page, survey=survey, now=now)
    return Answered(survey=survey, recovery_task=task)


async def open_recovery(
    conn: AsyncConnection, *, page: SurveyPage, survey: Survey, now: datetime
) -> RecoveryTask | None:
    """A recovery task for the first-line supervisor of the site's region, who is told over MQTT."""
    supervisor_id = await service.get_region_supervisor(conn, region=page.region)
    task = await service.create_recovery_task(
        conn,
        survey_id=survey.id,
        work_order_id=survey.work_order_id,
        supervisor_id=supervisor_id,
        region=page.region,
        reason=rules.detractor_reason(csat=survey.csat, nps=survey.nps),
        due_at=now + rules.RECOVERY_DUE,
    )
    if task is not None and supervisor_id is not None:
        await notifications.enqueue(
            conn,
            topic=recovery_topic(supervisor_id),
            payload={
                "kind": "recovery_task",
                "recovery_task_id": task.id,
                "supervisor_id": supervisor_id,
                "survey_id": survey.id,
                "work_order_id": survey.work_order_id,
                "customer": page.customer_name,
                "asset_id": page.asset_id,
                "reason": task.reason,
                "csat": survey.csat,
                "nps": survey.nps,
                "comment": survey.comment,
                "due_at": task.due_at,
            },
        )
    return task
