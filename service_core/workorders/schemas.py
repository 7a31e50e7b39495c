"""API shapes of work orders, their events and the requests that move them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from service_core.schemas import PatchSchema, ReadSchema, RequestSchema
from service_core.workorders.states import Status

WorkOrderType = Literal["preventive", "repair", "installation", "inspection", "complaint"]
HoldReason = Literal["waiting_parts", "waiting_customer", "waiting_approval", "other"]
Billing = Literal["warranty", "contract", "billable"]
Priority = Literal["low", "normal", "high", "urgent"]
FailureMode = Literal["bearing_wear", "cavitation", "overheating", "seal_leak", "imbalance", "blockage", "unknown"]
Actor = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), Field(description="Who does this")
]
Note = Annotated[str, StringConstraints(max_length=2000)]
FaultCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.:\-]{1,32}$")]


class WorkOrderCreate(RequestSchema):
    asset_id: str
    type: WorkOrderType
    failure_mode: FailureMode | None = None
    priority: Priority = "normal"
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Note | None = None
    due_at: datetime | None = None
    fault_code: FaultCode | None = None
    window_start: datetime | None = Field(None, description="Earliest the visit may start (the customer's window)")
    window_end: datetime | None = Field(None, description="Latest the visit may end")
    duration_minutes: Annotated[int, Field(ge=1, le=1440, description="Expected time on site")] = 60
    actor: Actor

    @model_validator(mode="after")
    def _preventive_names_failure_mode(self) -> Self:
        if self.type == "preventive" and self.failure_mode is None:
            raise ValueError("a preventive work order needs a failure_mode")
        if self.window_start and self.window_end and self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        return self


class WorkOrderRead(ReadSchema):
    id: int
    asset_id: str
    type: WorkOrderType
    status: Status
    priority: Priority
    failure_mode: FailureMode | None
    title: str
    description: str | None
    engineer_id: int | None
    alert_id: int | None
    evidence: dict[str, Any] | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    hold_reason: HoldReason | None
    resolution: str | None
    root_cause: str | None
    follow_up: str | None
    billing: Billing | None
    support_line: int
    fault_code: str | None
    window_start: datetime | None
    window_end: datetime | None
    duration_minutes: int


class WorkOrderUpdate(PatchSchema):
    """The fields a desk may change on an order; a new priority re-targets its SLA."""

    not_null: ClassVar[frozenset[str]] = frozenset({"priority", "title", "duration_minutes"})

    priority: Priority | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    description: Note | None = None
    due_at: datetime | None = None
    resolution: Annotated[str, StringConstraints(max_length=20000)] | None = None
    root_cause: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)] | None = None
    follow_up: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)] | None = None
    billing: Billing | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    duration_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None
    actor: Actor
    note: Note | None = None


class WorkOrderEventRead(ReadSchema):
    id: int
    at: datetime
    actor: str
    kind: str = Field(description="created, transition, assigned, updated, and each area's own")
    from_status: Status | None
    to_status: Status
    engineer_id: int | None
    note: str | None
    details: dict[str, Any] | None


class WorkOrderDetail(WorkOrderRead):
    events: list[WorkOrderEventRead]


class TransitionRequest(RequestSchema):
    to: Status
    actor: Actor
    note: Note | None = None
    reason: HoldReason | None = Field(None, description="Why the order waits; required when `to` is on_hold")

    @model_validator(mode="after")
    def _hold_says_why(self) -> Self:
        if self.to == Status.ON_HOLD and self.reason is None:
            raise ValueError(
                "putting a work order on hold needs a reason:"
                " waiting_parts, waiting_customer, waiting_approval or other"
            )
        if self.to != Status.ON_HOLD and self.reason is not None:
            raise ValueError("a reason is only given when putting a work order on hold")
        return self


class ReopenRequest(RequestSchema):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    actor: Actor


class AssignRequest(RequestSchema):
    engineer_id: int
    actor: Actor
    note: Note | None = None
