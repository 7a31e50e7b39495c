"""Rows of the SLA area, as read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Calendar:
    id: int
    name: str
    timezone: str
    hours: list[dict]  # [{"weekday": 1, "opens_min": 480, "closes_min": 1020}, ...] by weekday
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Holiday:
    id: int
    calendar_id: int
    day: date
    name: str


@dataclass(frozen=True, slots=True)
class Policy:
    id: int
    name: str
    calendar_id: int
    contract_level: str | None
    order_type: str | None
    priority: str | None
    response_minutes: int | None
    arrival_minutes: int | None
    resolution_minutes: int | None
    pause_statuses: list[str]
    pause_hold_reasons: list[str]
    warn_at_share: float
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Supervisor:
    id: int
    name: str
    email: str
    region: str
    support_line: int
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EscalationRule:
    id: int
    name: str
    condition: str  # sla_share | no_response_for | not_resolved_for
    metric: str | None
    share: float | None
    hours: float | None
    clock: str  # wall | business
    order_type: str | None
    priority: str | None
    region: str | None
    action: str  # notify_supervisor | raise_priority | escalate_line
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Firing:
    id: int
    rule_id: int
    work_order_id: int
    fired_at: datetime
    details: dict | None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the SLA needs to know of an order: the order, where it is, and the customer's contract level."""

    id: int
    title: str
    type: str
    status: str
    priority: str
    hold_reason: str | None
    support_line: int
    engineer_id: int | None
    asset_id: str
    site_id: int
    region: str
    contract_level: str | None  # of the active contract on the order's creation day (UTC); None without one
    created_at: datetime
