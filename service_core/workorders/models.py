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
    hold_reason: str | None = None
    resolution: str | None = None
    root_cause: str | None = None
    follow_up: str | None = None
    billing: str | None = None
    support_line: int = 1
    fault_code: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    duration_minutes: int = 60


@dataclass(frozen=True, slots=True)
class WorkOrderEvent:
    id: int
    work_order_id: int
    at: datetime
    actor: str
    kind: str  # created, transition, assigned, updated, and the areas' own (visit, hold, sla…)
    from_status: str | None
    to_status: str
    engineer_id: int | None
    note: str | None
    details: dict | None
