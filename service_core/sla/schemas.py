"""API shapes of calendars, holidays, policies, supervisors, escalation rules and an order's SLA."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, StringConstraints, field_validator, model_validator

from service_core.schemas import PatchSchema, ReadSchema, RequestSchema
from service_core.workorders.schemas import Actor, HoldReason, Priority, WorkOrderType

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Region = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
Weekday = Annotated[int, Field(ge=1, le=7, description="ISO day of the week, 1 = Monday")]
Opens = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$"), Field(examples=["08:00"])]
Closes = Annotated[str, StringConstraints(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"), Field(examples=["17:00"])]
ContractLevel = Literal["basic", "standard", "premium"]
Metric = Literal["response", "arrival", "resolution"]
PausableStatus = Literal["new", "assigned", "accepted", "en_route", "on_site", "in_progress", "on_hold"]
Minutes = Annotated[int, Field(gt=0, le=525_600, description="business minutes")]
Share = Annotated[float, Field(gt=0, lt=1, description="share of a target at which a clock is in warning")]
SupportLine = Literal[1, 2]
ClockState = Literal["running", "paused", "warning", "breached", "met", "met_late", "cancelled"]


def minutes_of(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _known_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


class DayHours(RequestSchema):
    """One day's working window in the calendar's time zone; ``end`` may be 24:00."""

    weekday: Weekday
    start: Opens
    end: Closes

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if minutes_of(self.end) <= minutes_of(self.start):
            raise ValueError(f"weekday {self.weekday}: end {self.end} must be after start {self.start}")
        return self


def _one_window_a_day(hours: list[DayHours] | None) -> list[DayHours] | None:
    if hours is not None and len({h.weekday for h in hours}) != len(hours):
        raise ValueError("each weekday may be listed once")
    return sorted(hours, key=lambda h: h.weekday) if hours is not None else None


class CalendarCreate(RequestSchema):
    name: Name
    timezone: str = Field(description="IANA zone the working hours are in, e.g. Europe/Amsterdam")
    hours: list[DayHours] = Field(min_length=1, max_length=7)
    actor: Actor

    known_timezone = field_validator("timezone")(_known_timezone)
    one_window_a_day = field_validator("hours")(_one_window_a_day)


class CalendarUpdate(PatchSchema):
    """Fields given replace the current ones; ``hours`` replaces the whole week."""

    not_null: ClassVar[frozenset[str]] = frozenset({"name", "timezone", "hours"})

    name: Name | None = None
    timezone: str | None = None
    hours: list[DayHours] | None = Field(default=None, min_length=1, max_length=7)
    actor: Actor

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str | None) -> str | None:
        return _known_timezone(name) if name is not None else None

    one_window_a_day = field_validator("hours")(_one_window_a_day)


class DayHoursRead(ReadSchema):
    weekday: int
    start: str
    end: str


class CalendarRead(ReadSchema):
    id: int
    name: str
    timezone: str
    hours: list[DayHoursRead]
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _hours_as_times(cls, data: Any) -> Any:
        """Rows keep minutes after midnight; the API shows HH:MM."""
        if is_dataclass(data) and not isinstance(data, type):
            data = asdict(data)
            data["hours"] = [
                {"weekday": h["weekday"], "start": hhmm(h["opens_min"]), "end": hhmm(h["closes_min"])}
                for h in data["hours"]
            ]
        return data


class HolidayCreate(RequestSchema):
    day: date
    name: Name
    actor: Actor


class HolidayRead(ReadSchema):
    id: int
    calendar_id: int
    day: date
    name: str


class PolicyCreate(RequestSchema):
    """Targets per metric for the orders the policy matches; a null match field matches any order."""

    name: Name
    calendar_id: int
    contract_level: ContractLevel | None = Field(default=None, description="null: any, or no active contract")
    order_type: WorkOrderType | None = None
    priority: Priority | None = None
    response_minutes: Minutes | None = None
    arrival_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    pause_statuses: list[PausableStatus] = Field(default_factory=list)
    pause_hold_reasons: list[HoldReason] = Field(default_factory=lambda: ["waiting_customer"])
    warn_at_share: Share = 0.8
    actor: Actor

    @model_validator(mode="after")
    def _targets_something(self) -> Self:
        if self.response_minutes is None and self.arrival_minutes is None and self.resolution_minutes is None:
            raise ValueError("a policy needs at least one of response_minutes, arrival_minutes, resolution_minutes")
        return self


class PolicyUpdate(PatchSchema):
    not_null: ClassVar[frozenset[str]] = frozenset(
        {"name", "calendar_id", "pause_statuses", "pause_hold_reasons", "warn_at_share"}
    )

    name: Name | None = None
    calendar_id: int | None = None
    contract_level: ContractLevel | None = None
    order_type: WorkOrderType | None = None
    priority: Priority | None = None
    response_minutes: Minutes | None = None
    arrival_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    pause_statuses: list[PausableStatus] | None = None
    pause_hold_reasons: list[HoldReason] | None = None
    warn_at_share: Share | None = None
    actor: Actor


class PolicyRead(ReadSchema):
    id: int
    name: str
    calendar_id: int
    contract_level: ContractLevel | None
    order_type: WorkOrderType | None
    priority: Priority | None
    response_minutes: int | None
    arrival_minutes: int | None
    resolution_minutes: int | None
    pause_statuses: list[str]
    pause_hold_reasons: list[str]
    warn_at_share: float
    created_at: datetime
    updated_at: datetime


class SupervisorCreate(RequestSchema):
    name: Name
    email: Email
    region: Region
    support_line: SupportLine = 1
    active: bool = True
    actor: Actor


class SupervisorUpdate(PatchSchema):
    not_null: ClassVar[frozenset[str]] = frozenset({"name", "email", "region", "support_line", "active"})

    name: Name | None = None
    email: Email | None = None
    region: Region | None = None
    support_line: SupportLine | None = None
    active: bool | None = None
    actor: Actor


class SupervisorRead(ReadSchema):
    id: int
    name: str
    email: str
    region: str
    support_line: int
    active: bool
    created_at: datetime


class EscalationRuleCreate(RequestSchema):
    """When ``condition`` holds for an order in scope, do ``action`` (once per order).

    - ``sla_share`` needs ``metric`` and ``share`` (0.8 = the warning, 1.0 = the breach);
    - ``no_response_for`` / ``not_resolved_for`` need ``hours``, counted on the ``wall`` clock or in
      ``business`` time of the order's SLA calendar.
    """

    name: Name
    condition: Literal["sla_share", "no_response_for", "not_resolved_for"]
    metric: Metric | None = None
    share: float | None = Field(default=None, gt=0, le=10)
    hours: float | None = Field(default=None, gt=0, le=100_000)
    clock: Literal["wall", "business"] = "wall"
    order_type: WorkOrderType | None = None
    priority: Priority | None = None
    region: Region | None = None
    action: Literal["notify_supervisor", "raise_priority", "escalate_line"]
    active: bool = True
    actor: Actor

    @model_validator(mode="after")
    def _condition_has_its_fields(self) -> Self:
        if self.condition == "sla_share":
            if self.metric is None or self.share is None or self.hours is not None:
                raise ValueError("condition sla_share needs metric and share, and no hours")
        elif self.hours is None or self.metric is not None or self.share is not None:
            raise ValueError(f"condition {self.condition} needs hours, and no metric or share")
        return self


class EscalationRuleUpdate(PatchSchema):
    """Fields given replace the current ones; the rule as a whole must still make sense."""

    not_null: ClassVar[frozenset[str]] = frozenset({"name", "condition", "clock", "action", "active"})

    name: Name | None = None
    condition: Literal["sla_share", "no_response_for", "not_resolved_for"] | None = None
    metric: Metric | None = None
    share: float | None = Field(default=None, gt=0, le=10)
    hours: float | None = Field(default=None, gt=0, le=100_000)
    clock: Literal["wall", "business"] | None = None
    order_type: WorkOrderType | None = None
    priority: Priority | None = None
    region: Region | None = None
    action: Literal["notify_supervisor", "raise_priority", "escalate_line"] | None = None
    active: bool | None = None
    actor: Actor


class EscalationRuleRead(ReadSchema):
    id: int
    name: str
    condition: str
    metric: Metric | None
    share: float | None
    hours: float | None
    clock: str
    order_type: WorkOrderType | None
    priority: Priority | None
    region: str | None
    action: str
    active: bool
    created_at: datetime
    updated_at: datetime


class FiringRead(ReadSchema):
    id: int
    rule_id: int
    work_order_id: int
    fired_at: datetime
    details: dict[str, Any] | None


class ClockRead(ReadSchema):
    metric: Metric
    target_minutes: int = Field(description="business minutes allowed under the order's current policy")
    elapsed_minutes: float = Field(description="business minutes used, pauses excluded")
    share: float = Field(description="elapsed / target")
    due_at: datetime | None = Field(description="when the target is (or was) reached if the clock keeps running")
    state: ClockState
    met_at: datetime | None
    paused: bool


class PolicyBrief(ReadSchema):
    id: int
    name: str
    calendar_id: int
    warn_at_share: float


class OrderSlaRead(ReadSchema):
    work_order_id: int
    status: str
    priority: Priority
    contract_level: ContractLevel | None
    policy: PolicyBrief | None = Field(description="null: no policy matches the order; it has no clocks")
    clocks: list[ClockRead]


class AtRiskRead(OrderSlaRead):
    title: str
    type: WorkOrderType
    site_id: int
    region: str
    engineer_id: int | None
    support_line: int
    next_due_at: datetime | None = Field(description="the earliest due time of its clocks in warning or breached")


class EvaluationRead(ReadSchema):
    orders: int
    warnings: int
    breaches: int
    firings: int
