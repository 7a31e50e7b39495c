"""API shape of the fleet-health view."""

from __future__ import annotations

from datetime import datetime

from service_core.schemas import ReadSchema


class OpenPreventiveOrderRead(ReadSchema):
    id: int
    failure_mode: str
    priority: str
    status: str
    engineer_id: int | None
    engineer_name: str | None
    due_at: datetime | None


class FleetAssetRead(ReadSchema):
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
    open_orders: list[OpenPreventiveOrderRead]


class TelemetryBucketRead(ReadSchema):
    bucket: datetime
    min: float
    avg: float
    max: float
    count: int


class TelemetryHistoryRead(ReadSchema):
    asset_id: str
    metric: str
    start: datetime
    end: datetime
    bucket_seconds: int
    buckets: list[TelemetryBucketRead]


class LatestValueRead(ReadSchema):
    metric: str
    ts: datetime
    value: float
