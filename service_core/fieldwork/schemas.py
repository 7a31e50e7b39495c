"""API shapes of visits, checklists, attachments, signatures, parts and the service report."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, computed_field

from service_core.fieldwork.rules import cents
from service_core.schemas import ReadSchema, RequestSchema
from service_core.workorders.schemas import Actor, Billing, HoldReason, Note, WorkOrderRead

Outcome = Literal["fixed", "needs_parts", "needs_follow_up", "no_access", "not_fixed"]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
LongText = Annotated[str, StringConstraints(max_length=20000)]


class VisitCreate(RequestSchema):
    engineer_id: int
    planned_at: datetime | None = None
    actor: Actor
    note: Note | None = None


class CheckIn(RequestSchema):
    lat: Lat
    lon: Lon
    at: datetime | None = Field(None, description="When the engineer arrived; now when left out; not in the future")
    actor: Actor


class CheckOut(RequestSchema):
    outcome: Outcome
    labour_minutes: Annotated[int, Field(ge=0, le=10080)] | None = Field(
        None, description="Minutes worked on this visit; the time between check-in and check-out when left out"
    )
    notes: LongText | None = None
    lat: Lat
    lon: Lon
    at: datetime | None = Field(None, description="When the engineer left; now when left out; not in the future")
    actor: Actor


class VisitCancel(RequestSchema):
    actor: Actor
    note: Note | None = None


class VisitRead(ReadSchema):
    id: int
    work_order_id: int
    seq: int
    engineer_id: int
    status: Literal["planned", "checked_in", "checked_out", "cancelled"]
    planned_at: datetime | None
    check_in_at: datetime | None
    check_in_lat: float | None
    check_in_lon: float | None
    check_out_at: datetime | None
    check_out_lat: float | None
    check_out_lon: float | None
    outcome: Outcome | None
    labour_minutes: int | None
    notes: str | None
    created_at: datetime


class ChecklistItemUpdate(RequestSchema):
    done: bool
    note: Note | None = None
    actor: Actor


class ChecklistItemRead(ReadSchema):
    id: int
    position: int
    label: str
    required: bool
    done: bool
    note: str | None
    done_by: str | None
    done_at: datetime | None


class AttachmentRead(ReadSchema):
    id: int
    work_order_id: int | None
    kind: Literal["photo", "file", "signature"]
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class SignatureRead(ReadSchema):
    id: int
    attachment_id: int | None
    signer_name: str | None
    no_signature_reason: str | None
    recorded_by: str
    recorded_at: datetime


class PartCreate(RequestSchema):
    part_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    quantity: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=3)]
    unit_cost: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)] = Decimal("0")
    visit_id: int | None = None
    actor: Actor


class PartRead(ReadSchema):
    id: int
    visit_id: int | None
    part_number: str
    description: str | None
    quantity: Decimal
    unit_cost: Decimal
    recorded_by: str
    recorded_at: datetime

    @computed_field
    @property
    def amount(self) -> Decimal:
        """Quantity times unit cost, to the cent."""
        return cents(self.quantity * self.unit_cost)


class CostRead(ReadSchema):
    labour_minutes: int
    labour_rate_per_hour: Decimal
    labour: Decimal
    parts: Decimal
    total: Decimal
    covered: Decimal
    customer_pays: Decimal


class BillingRead(ReadSchema):
    billing: Billing = Field(description="As set on the order, or what completing it today would set")
    decided: bool = Field(description="Set on the order (at completion or by hand), not only the default")
    contract: str | None = Field(description="The customer's contract running today, if any")
    covers_labour: bool
    covers_parts: bool


class ServiceReport(ReadSchema):
    order: WorkOrderRead
    customer: str
    site: str
    site_address: str | None
    asset_model: str
    asset_serial: str
    engineer: str | None
    hold_reason: HoldReason | None
    completed_at: datetime | None
    visits: list[VisitRead]
    labour_minutes: int
    parts: list[PartRead]
    checklist: list[ChecklistItemRead]
    attachments: list[AttachmentRead]
    signatures: list[SignatureRead]
    billing: BillingRead
    cost: CostRead
