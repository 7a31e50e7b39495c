"""Rows of the maintenance-plans area, as read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Plan:
    id: int
    name: str
    asset_id: str | None
    asset_model: str | None
    order_type: str
    failure_mode: str | None
    priority: str
    trigger: str  # fixed, floating, meter, condition
    interval_days: int | None
    start_at: datetime | None
    meter_kind: str | None
    meter_metric: str | None
    running_above: float | None
    meter_interval: float | None
    lead_days: int
    window_days: int
    duration_minutes: int
    active: bool
    created_at: datetime
    updated_at: datetime
    checklist: list[dict]  # [{"position": 1, "label": "...", "required": true}, ...] by position
    parts: list[dict]  # [{"part_number": "BRG-6205", "quantity": 2.0}, ...]
    skills: list[dict]  # [{"skill": "mechanical", "min_level": 3}, ...]


@dataclass(frozen=True, slots=True)
class PlanAsset:
    """An asset a plan covers, and since when (the later of the plan's and the asset's creation)."""

    plan_id: int
    asset_id: str
    since: datetime


@dataclass(frozen=True, slots=True)
class Occurrence:
    id: int
    plan_id: int
    asset_id: str
    occurrence_key: str
    status: str  # generated, missed
    due_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    meter_value: float | None
    work_order_id: int | None
    reason: str | None
    blocking_work_order_id: int | None
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class LastOccurrence:
    """The plan's latest occurrence on an asset with its order's status and completion, for the schedule."""

    occurrence_key: str
    due_at: datetime
    status: str
    meter_value: float | None
    work_order_id: int | None
    order_status: str | None
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class AssetMeter:
    asset_id: str
    kind: str
    metric: str
    running_above: float
    value: float
    running: bool | None
    computed_until: datetime | None
    updated_at: datetime
