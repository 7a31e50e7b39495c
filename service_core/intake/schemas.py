"""API shapes of service requests, triage and the 360° view."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, field_validator, model_validator

from service_core.customers.schemas import AssetRead, CustomerRead, SiteRead
from service_core.schemas import ReadSchema, RequestSchema
from service_core.workorders.schemas import Actor, FailureMode, FaultCode, Priority, WorkOrderType

_EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_PHONE_PATTERN = r"^\+?[0-9 ()./\-]{6,40}$"
_EMAIL = re.compile(_EMAIL_PATTERN)
_PHONE = re.compile(_PHONE_PATTERN)

Channel = Literal["api", "qr", "email", "device", "detector"]
RequestStatus = Literal["open", "triaged", "duplicate", "rejected"]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=_EMAIL_PATTERN)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=_PHONE_PATTERN)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ServiceRequestCreate(RequestSchema):
    """A call-centre agent's report of trouble with an asset."""

    asset_id: str
    subject: Subject
    description: Annotated[str, StringConstraints(max_length=20000)] | None = None
    reporter_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    reporter_email: Email | None = None
    reporter_phone: Phone | None = None
    fault_code: FaultCode | None = None
    priority: Priority = "normal"
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="The caller's own id of this report (e.g. the telephony ticket); sent twice, "
        "it opens one request"
    )
    actor: Actor


class TriageRequest(RequestSchema):
    type: Literal["repair", "installation", "inspection", "preventive", "complaint"]
    priority: Priority | None = Field(default=None, description="default: the request's suggested priority")
    title: Subject | None = Field(default=None, description="default: the request's subject")
    failure_mode: FailureMode | None = None
    actor: Actor

    @model_validator(mode="after")
    def _preventive_names_failure_mode(self) -> Self:
        if self.type == "preventive" and self.failure_mode is None:
            raise ValueError("a preventive work order needs a failure_mode")
        return self


class RejectRequest(RequestSchema):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    actor: Actor


class ServiceRequestRead(ReadSchema):
    id: int
    tracking_code: str
    channel: Channel
    status: RequestStatus
    customer_id: int
    site_id: int
    asset_id: str
    reporter_name: str | None
    reporter_email: str | None
    reporter_phone: str | None
    subject: str
    description: str | None
    fault_code: str | None
    priority: Priority
    received_at: datetime
    external_id: str | None
    actor: str
    work_order_id: int | None
    duplicate_of: int | None
    triaged_at: datetime | None
    triaged_by: str | None
    reject_reason: str | None


class AttachmentRead(ReadSchema):
    id: int
    work_order_id: int | None
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class ContractRead(ReadSchema):
    id: int
    name: str
    level: Literal["basic", "standard", "premium"]
    starts_on: date
    ends_on: date
    covers_labour: bool
    covers_parts: bool


class PastOrderRead(ReadSchema):
    id: int
    type: WorkOrderType
    status: str
    priority: Priority
    title: str
    fault_code: str | None
    failure_mode: str | None
    created_at: datetime
    updated_at: datetime


class PartReplacedRead(ReadSchema):
    work_order_id: int
    part_number: str
    description: str | None
    quantity: Decimal
    recorded_at: datetime


class WarrantyRead(ReadSchema):
    in_warranty: bool | None = Field(description="None when the warranty's end is not recorded")
    ends_on: date | None


class HealthRead(ReadSchema):
    score: float | None
    scored_at: datetime | None


class AssetOverviewRead(ReadSchema):
    on: date = Field(description="The day warranty and contract are judged on")
    customer: CustomerRead
    site: SiteRead
    asset: AssetRead
    warranty: WarrantyRead
    contract: ContractRead | None = Field(description="The customer's contract in force that day, if any")
    past_orders: list[PastOrderRead]
    parts_replaced: list[PartReplacedRead]
    health: HealthRead


class ServiceRequestDetail(ServiceRequestRead):
    attachments: list[AttachmentRead]
    duplicates: list[int] = Field(description="Ids of the requests linked to this one as duplicates")
    overview: AssetOverviewRead


class QrReportForm(RequestSchema):
    """The form on an asset's public page (the customer scanned its QR code)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    contact: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]

    @field_validator("contact")
    @classmethod
    def _reachable(cls, value: str) -> str:
        if not (_EMAIL.match(value) or _PHONE.match(value)):
            raise ValueError("give an e-mail address (name@example.com) or a phone number")
        return value

    @property
    def email(self) -> str | None:
        return self.contact if _EMAIL.match(self.contact) else None

    @property
    def phone(self) -> str | None:
        return None if _EMAIL.match(self.contact) else self.contact
