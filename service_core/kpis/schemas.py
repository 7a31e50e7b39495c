"""API shapes of the KPI report and its filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import Field, StringConstraints, field_validator, model_validator

from service_core.schemas import ReadSchema, RequestSchema

DEFAULT_PERIOD = timedelta(days=30)


class KpiFilters(RequestSchema):
    """The query string of GET /kpis: a period and optional filters (unknown ids simply match nothing)."""

    from_: datetime | None = Field(
        default=None, alias="from", description="Start of the period, inclusive (UTC unless a zone is given)"
    )
    to: datetime | None = Field(default=None, description="End of the period, exclusive; default now")
    region: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    site_id: int | None = None
    customer_id: int | None = None
    engineer_id: int | None = None
    asset_model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None

    @field_validator("from_", "to")
    @classmethod
    def _utc_unless_zoned(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.to is None:
            self.to = datetime.now(UTC) if self.from_ is None else self.from_ + DEFAULT_PERIOD
        if self.from_ is None:
            self.from_ = self.to - DEFAULT_PERIOD
        if self.from_ >= self.to:
            raise ValueError(f"'from' ({self.from_.isoformat()}) must be before 'to' ({self.to.isoformat()})")
        return self


class Ratio(ReadSchema):
    numerator: int
    denominator: int
    rate: float | None = Field(description="numerator / denominator; null when the denominator is 0")


class Durations(ReadSchema):
    orders: int = Field(description="How many orders the figures are over")
    mean_hours: float | None
    median_hours: float | None


class Utilisation(ReadSchema):
    labour_minutes: int
    scheduled_minutes: int
    rate: float | None


class EngineerUtilisation(Utilisation):
    engineer_id: int
    name: str


class TeamUtilisation(Utilisation):
    engineers: list[EngineerUtilisation]


class FailureRate(ReadSchema):
    orders: int = Field(description="Repair orders created in the period")
    asset_years: float = Field(description="Time in service in the period, in years")
    rate: float | None = Field(description="Orders per asset-year")


class ModelFailureRate(FailureRate):
    asset_model: str


class FleetFailureRate(FailureRate):
    models: list[ModelFailureRate]


class OrderMix(ReadSchema):
    preventive: Ratio = Field(description="Preventive / (preventive + repair) orders created in the period")
    corrective: Ratio = Field(description="Repair / (preventive + repair) orders created in the period")
    by_type: dict[str, int]


class SlaCompliance(ReadSchema):
    response: Ratio
    arrival: Ratio
    resolution: Ratio


class Csat(Ratio):
    mean: float | None = Field(description="Mean CSAT score, 1-5")


class Nps(ReadSchema):
    answers: int
    promoters: int
    detractors: int
    score: float | None = Field(description="% promoters (9-10) - % detractors (0-6)")


class Period(ReadSchema):
    from_: datetime = Field(serialization_alias="from")
    to: datetime


class KpiReport(ReadSchema):
    """Every KPI with the counts behind it; definitions in service_core.kpis.formulas."""

    period: Period
    filters: dict[str, Any]
    response_time: Durations = Field(description="Creation to the first move to accepted")
    time_to_repair: Durations = Field(description="First arrival on site to the first completion")
    time_to_resolve: Durations = Field(description="Creation to the first completion")
    first_time_fix: Ratio
    repeat_visits: Ratio = Field(description="Completed orders reopened or followed on the asset within 7 days")
    utilisation: TeamUtilisation
    failure_rate: FleetFailureRate
    order_mix: OrderMix
    csat: Csat
    nps: Nps
    sla: SlaCompliance = Field(description="Clocks met within target / clocks settled in the period, per clock")
