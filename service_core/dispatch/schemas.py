"""API shapes of a dispatch ranking and of a day's plan."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from service_core.schemas import ReadSchema, RequestSchema
from service_core.workorders.schemas import Actor


class BreakdownRead(ReadSchema):
    skill: float
    distance: float
    load: float
    availability: float
    sla: float = 0.0
    preference: float = 0.0
    parts: float = 0.0


class RankedRead(ReadSchema):
    engineer_id: int
    name: str
    total: float = Field(description="exactly the sum of the breakdown's parts")
    breakdown: BreakdownRead
    skill_level: int
    distance_km: float
    open_orders: int
    starts_in_hours: float
    explanation: str
    travel_minutes: int = 0
    arrives_at: datetime | None = Field(None, description="when work on site can start")
    parts: str = Field("none needed", description="none needed | in van | by transfer | missing")
    missing_parts: dict[str, float] = {}
    preferred: bool = False


class ExcludedRead(ReadSchema):
    engineer_id: int
    name: str
    reason: str = Field(description="the hard constraint that rules the engineer out")


class OrderCandidatesRead(ReadSchema):
    work_order_id: int
    candidates: list[RankedRead]
    excluded: list[ExcludedRead]


class PlanRequest(RequestSchema):
    date: date
    actor: Actor
    apply: bool = Field(False, description="assign the planned orders and plan their visits")
    time_limit_s: float = Field(2.0, gt=0, le=30, description="the solver's time limit")


class StopRead(ReadSchema):
    work_order_id: int
    arrival_at: datetime
    start_at: datetime
    end_at: datetime
    travel_km: float = Field(description="road km from the previous stop (or home)")


class RouteRead(ReadSchema):
    engineer_id: int
    stops: list[StopRead]
    travel_km: float = Field(description="home to home")
    home_at: datetime


class UnassignedRead(ReadSchema):
    work_order_id: int
    reason: str


class PlanRead(ReadSchema):
    date: date
    applied: bool
    engineers: int
    orders: int
    assigned: int
    travel_km: float
    routes: list[RouteRead]
    unassigned: list[UnassignedRead]
