"""API shapes of surveys, their answers and recovery tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from service_core.schemas import ReadSchema, RequestSchema
from service_core.workorders.schemas import Actor

Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


class SurveyAnswerForm(RequestSchema):
    """The public page's form: both scores, and a comment if the customer has one."""

    csat: int = Field(ge=1, le=5, description="How satisfied: 1 (very unsatisfied) to 5 (very satisfied)")
    nps: int = Field(ge=0, le=10, description="How likely to recommend us: 0 to 10")
    comment: Comment | None = None


class SurveyMessageRead(ReadSchema):
    kind: Literal["invitation", "reminder"]
    channel: Literal["email", "webhook"]
    recipient: str | None
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


class SurveyRead(ReadSchema):
    """A survey as the service desk sees it (not its link: that is the customer's key)."""

    id: int
    work_order_id: int
    channel: str | None
    recipient: str | None
    unsendable_reason: str | None
    sent_at: datetime | None
    reminder_sent_at: datetime | None
    answered_at: datetime | None
    csat: int | None
    nps: int | None
    comment: str | None
    created_at: datetime
    messages: list[SurveyMessageRead] = Field(default_factory=list)


class RecoveryTaskRead(ReadSchema):
    id: int
    survey_id: int
    work_order_id: int
    supervisor_id: int | None = Field(description="null: no active supervisor for the region when it was opened")
    region: str
    status: Literal["open", "done"]
    reason: str
    due_at: datetime
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    note: str | None


class RecoveryTaskClose(RequestSchema):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)] = Field(
        description="What was done for the customer"
    )
    actor: Actor
