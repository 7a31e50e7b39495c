"""Rows of the fleet-health view, and the view itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FleetAssetRow:
    asset_id: str
    model: str
    site_code: str
    site_name: str
    region: str
    customer_name: str


@dataclass(frozen=True, slots=True)
class OpenPreventiveOrder:
    id: int
    asset_id: str
    failure_mode: str
    priority: str
    status: str
    engineer_id: int | None
    engineer_name: str | None
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class FleetAsset:
    """One line of the fleet-health page."""

    asset_id: str
    model: str
    site_code: str
    site_name: str
    region: str
    customer_name: str
    connection: str
    last_seen: datetime | None
    health_score: float | None
    scored_at: datetime | None
    open_orders: tuple[OpenPreventiveOrder, ...]
