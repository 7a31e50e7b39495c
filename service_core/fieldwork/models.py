"""Rows of the field-work area (visits, checklist items, attachments, signatures, parts), as read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Visit:
    id: int
    work_order_id: int
    seq: int
    engineer_id: int
    status: str  # planned, checked_in, checked_out, cancelled
    planned_at: datetime | None
    check_in_at: datetime | None
    check_in_lat: float | None
    check_in_lon: float | None
    check_out_at: datetime | None
    check_out_lat: float | None
    check_out_lon: float | None
    outcome: str | None  # fixed, needs_parts, needs_follow_up, no_access, not_fixed
    labour_minutes: int | None
    notes: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    id: int
    work_order_id: int
    position: int
    label: str
    required: bool
    done: bool
    note: str | None
    done_by: str | None
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttachmentMeta:
    """An attachment without its bytes."""

    id: int
    work_order_id: int | None
    kind: str  # photo, file, signature
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True, slots=True)
class AttachmentContent:
    id: int
    filename: str
    content_type: str
    sha256: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Signature:
    id: int
    work_order_id: int
    attachment_id: int | None
    signer_name: str | None
    no_signature_reason: str | None
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class PartUsed:
    id: int
    work_order_id: int
    visit_id: int | None
    part_number: str
    description: str | None
    quantity: Decimal
    unit_cost: Decimal
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Contract:
    id: int
    customer_id: int
    name: str
    level: str
    starts_on: date
    ends_on: date
    covers_labour: bool
    covers_parts: bool
