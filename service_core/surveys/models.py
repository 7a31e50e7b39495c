"""Rows of the surveys area, as read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Survey:
    id: int
    work_order_id: int
    csat: int | None
    nps: int | None
    comment: str | None
    sent_at: datetime | None
    answered_at: datetime | None
    created_at: datetime
    token: str
    channel: str | None
    recipient: str | None
    unsendable_reason: str | None
    reminder_sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class CompletedOrder:
    """An order done and not yet surveyed, with the addresses the survey may go to."""

    work_order_id: int
    completed_at: datetime
    reporter_email: str | None
    customer_email: str | None


@dataclass(frozen=True, slots=True)
class UnansweredSurvey:
    """A sent survey with no answer and no reminder yet, and how it was sent."""

    survey_id: int
    sent_at: datetime
    channel: str
    recipient: str | None


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A claimed invitation or reminder with what the letter says about the job."""

    id: int
    survey_id: int
    kind: str  # invitation | reminder
    channel: str  # email | webhook
    recipient: str | None
    attempts: int
    token: str
    work_order_id: int
    title: str
    asset_id: str
    asset_model: str
    site_name: str
    customer_id: int
    customer_name: str
    engineer_name: str | None
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class SurveyPage:
    """What the customer's page shows about the job, and the answer if there is one."""

    survey_id: int
    token: str
    work_order_id: int
    title: str
    asset_id: str
    asset_model: str
    site_name: str
    region: str
    customer_name: str
    engineer_name: str | None
    completed_at: datetime | None
    csat: int | None
    nps: int | None
    comment: str | None
    answered_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecoveryTask:
    id: int
    survey_id: int
    work_order_id: int
    supervisor_id: int | None
    region: str
    status: str  # open | done
    reason: str
    due_at: datetime
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    note: str | None
