"""Rows dispatch reads: engineers with their current load, and where an asset stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time


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


@dataclass(frozen=True, slots=True)
class AssetLocation:
    asset_id: str
    lat: float
    lon: float
