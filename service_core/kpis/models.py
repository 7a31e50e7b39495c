"""Rows the KPI queries return: the figures before any arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time


@dataclass(frozen=True, slots=True)
class Scope:
    """Which orders, visits and surveys count: a period ``[start, end)`` and optional filters."""

    start: datetime
    end: datetime
    region: str | None = None
    site_id: int | None = None
    customer_id: int | None = None
    asset_model: str | None = None
    engineer_id: int | None = None


@dataclass(frozen=True, slots=True)
class OrderFigures:
    response_seconds: list[float]
    repair_seconds: list[float]
    resolve_seconds: list[float]
    ftf_orders: int  # completed non-preventive orders with a visit
    ftf_fixed: int  # ... of which fixed at one visit and never reopened
    completed: int  # orders of any type first completed in the period
    repeats: int
    preventive: int
    corrective: int
    by_type: dict[str, int]


@dataclass(frozen=True, slots=True)
class EngineerLabour:
    engineer_id: int
    name: str
    work_days: list[int]
    work_start: time
    work_end: time
    timezone: str
    labour_minutes: int


@dataclass(frozen=True, slots=True)
class ModelExposure:
    asset_model: str
    orders: int
    exposure_seconds: float


@dataclass(frozen=True, slots=True)
class SurveyFigures:
    csat_answers: int
    csat_satisfied: int
    csat_sum: int
    nps_answers: int
    promoters: int
    detractors: int
