"""Rows dispatch reads: engineers with their load, territories and van stock; an order with what it needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time


@dataclass(frozen=True, slots=True)
class EngineerLoad:
    id: int
    name: str
    active: bool
    skills: dict  # {"mechanical": 3, ...}
    home_lat: float
    home_lon: float
    work_days: list[int]
    work_start: time
    work_end: time
    timezone: str
    open_orders: int
    territories: list[str]
    planned_minutes: int  # of the visits planned on the day asked about
    van: dict  # part number -> available (on hand - reserved) in the engineer's van
    incoming: list  # [{"part_number", "quantity", "expected_at"}] approved or in-transit transfers into the van


@dataclass(frozen=True, slots=True)
class AssetLocation:
    asset_id: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class OrderNeeds:
    """An order as dispatch sees it: where, when, for how long, needing which skills and parts."""

    id: int
    status: str
    type: str
    priority: str
    engineer_id: int | None
    failure_mode: str | None
    window_start: datetime | None
    window_end: datetime | None
    duration_minutes: int
    lat: float
    lon: float
    region: str
    preferred_engineer_id: int | None
    skills: dict  # skill -> minimum level (service.work_order_skills)
    parts: dict  # part number -> quantity (service.work_order_parts)
