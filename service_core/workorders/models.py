"""Rows of the work-orders area, as read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class WorkOrder:
    id: int
    asset_id: str
    type: str
    status: str
    priority: str
    failure_mode: str | None
    title: str
    description: str | None
    engineer_id: int | None
    alert_id: int | None
    evidence: dict | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WorkOrderEvent:
    id: int
    work_order_id: int
    at: datetime
    actor: str
    kind: str  # created, transition, assigned
    from_status: str | None
    to_status: str
    engineer_id: int | None
    note: str | None
    details: dict | None
