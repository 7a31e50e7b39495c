"""API shapes of a dispatch ranking."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class BreakdownRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    skill: float
    distance: float
    load: float
    availability: float


class RankedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    engineer_id: int
    name: str
    total: float
    breakdown: BreakdownRead
    skill_level: int
    distance_km: float
    open_orders: int
    starts_in_hours: float
    explanation: str
