"""Rows of the intake area, as read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from service_core.customers.models import Asset, Customer, Site


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    id: int
    tracking_code: str
    channel: str  # api, qr, email, device, detector
    status: str  # open, triaged, duplicate, rejected
    customer_id: int
    site_id: int
    asset_id: str
    reporter_name: str | None
    reporter_email: str | None
    reporter_phone: str | None
    subject: str
    description: str | None
    fault_code: str | None
    priority: str
    received_at: datetime
    external_id: str | None
    actor: str
    work_order_id: int | None
    duplicate_of: int | None
    triaged_at: datetime | None
    triaged_by: str | None
    reject_reason: str | None


@dataclass(frozen=True, slots=True)
class RequestInput:
    """What the channel delivered, byte for byte."""

    request_id: int
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """An attachment without its content."""

    id: int
    work_order_id: int | None
    request_id: int | None
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True, slots=True)
class RejectedMail:
    id: int
    received_at: datetime
    mail_from: str | None
    rcpt_to: list[str]
    message_id: str | None
    subject: str | None
    reason: str
    content: bytes


@dataclass(frozen=True, slots=True)
class QrAsset:
    """The asset behind a QR token, with what the public page shows of it."""

    token: str
    asset_id: str
    model: str
    serial: str
    location: str | None
    site_name: str
    site_code: str
    customer_name: str


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


@dataclass(frozen=True, slots=True)
class PastOrder:
    id: int
    type: str
    status: str
    priority: str
    title: str
    fault_code: str | None
    failure_mode: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PartReplaced:
    work_order_id: int
    part_number: str
    description: str | None
    quantity: Decimal
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class PublicStatus:
    """What the customer sees of their request on the status page."""

    tracking_code: str
    status: str
    subject: str
    received_at: datetime
    work_order_status: str | None
    planned_visit_at: datetime | None
    last_visit_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Overview:
    """The 360° view of an asset on a given day: whose it is, what covers it, what happened to it."""

    on: date
    customer: Customer
    site: Site
    asset: Asset
    in_warranty: bool | None  # None: the warranty's end is not recorded
    warranty_ends_on: date | None
    contract: Contract | None
    past_orders: tuple[PastOrder, ...]
    parts_replaced: tuple[PartReplaced, ...]
    health_score: float | None
    scored_at: datetime | None
