"""API shapes of maintenance plans, their occurrences, meters and a scheduler run."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal, Self

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from service_core.schemas import PatchSchema, ReadSchema, RequestSchema
from service_core.workorders.schemas import Actor, FailureMode, Priority

PlanOrderType = Literal["inspection", "preventive"]
Trigger = Literal["fixed", "floating", "meter", "condition"]
MeterKind = Literal["run_hours", "cycles"]
Skill = Literal["mechanical", "electrical", "hydraulic", "controls"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AssetId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
AssetModel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Metric = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$"), Field(examples=["speed_rpm"])]
PartNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
IntervalDays = Annotated[int, Field(ge=1, le=3650, description="days between occurrences (calendar plans)")]
LeadDays = Annotated[int, Field(ge=0, le=365, description="days before an occurrence its order is opened")]
WindowDays = Annotated[int, Field(ge=1, le=365, description="days from the occurrence the visit may take place")]
Duration = Annotated[int, Field(ge=1, le=1440, description="expected time on site, minutes")]
MeterInterval = Annotated[float, Field(gt=0, le=1e9, description="run hours or cycles between occurrences")]

_CALENDAR_FIELDS = ("interval_days", "start_at")
_METER_FIELDS = ("meter_kind", "meter_metric", "running_above", "meter_interval")


class ChecklistItem(RequestSchema):
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    required: bool = True


class PlanPart(RequestSchema):
    part_number: PartNumber
    quantity: Annotated[float, Field(gt=0, le=1_000_000)]


class PlanSkill(RequestSchema):
    skill: Skill
    min_level: Annotated[int, Field(ge=1, le=5)] = 1


class PlanCreate(RequestSchema):
    """A plan for one asset (``asset_id``) or every asset of a model (``asset_model``), and its trigger:
    ``fixed`` (every interval_days from start_at), ``floating`` (interval_days after the last completion),
    ``meter`` (every meter_interval run hours or cycles of meter_metric > running_above) or ``condition``
    (the detector's alerts of failure_mode on the asset)."""

    name: Name
    asset_id: AssetId | None = None
    asset_model: AssetModel | None = None
    order_type: PlanOrderType
    failure_mode: FailureMode | None = None
    priority: Priority = "normal"
    trigger: Trigger
    interval_days: IntervalDays | None = None
    start_at: AwareDatetime | None = None
    meter_kind: MeterKind | None = None
    meter_metric: Metric | None = None
    running_above: float | None = Field(None, allow_inf_nan=False, description="the metric above this is running")
    meter_interval: MeterInterval | None = None
    lead_days: LeadDays = 7
    window_days: WindowDays = 7
    duration_minutes: Duration = 60
    active: bool = True
    checklist: Annotated[list[ChecklistItem], Field(max_length=100)] = []
    parts: Annotated[list[PlanPart], Field(max_length=100)] = []
    skills: Annotated[list[PlanSkill], Field(max_length=4)] = []
    actor: Actor

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = plan_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def plan_problems(plan: PlanCreate) -> list[str]:
    """What makes the plan meaningless, each in words a desk understands (empty when it is fine)."""
    problems = []
    if (plan.asset_id is None) == (plan.asset_model is None):
        problems.append("a plan covers either one asset (asset_id) or one asset model (asset_model)")
    if plan.order_type == "preventive" and plan.failure_mode is None:
        problems.append("a preventive plan needs the failure_mode its orders prevent")
    calendar = plan.trigger in ("fixed", "floating")
    for name in _CALENDAR_FIELDS:
        if calendar and getattr(plan, name) is None:
            problems.append(f"a {plan.trigger} calendar plan needs {name}")
        if not calendar and getattr(plan, name) is not None:
            problems.append(f"{name} is for calendar plans (fixed or floating), not {plan.trigger}")
    for name in _METER_FIELDS:
        if plan.trigger == "meter" and getattr(plan, name) is None:
            problems.append(f"a meter plan needs {name}")
        if plan.trigger != "meter" and getattr(plan, name) is not None:
            problems.append(f"{name} is for meter plans, not {plan.trigger}")
    if plan.trigger == "condition" and plan.failure_mode is None:
        problems.append("a condition plan needs the failure_mode of the alerts it answers")
    for what, names in (("part", [p.part_number for p in plan.parts]), ("skill", [s.skill for s in plan.skills])):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            problems.append(f"each {what} is listed once; twice: {', '.join(twice)}")
    return problems


class PlanUpdate(PatchSchema):
    """What may change on a plan; its target, order type and trigger stay (make a new plan for another)."""

    not_null: ClassVar[frozenset[str]] = frozenset(
        {"name", "priority", "lead_days", "window_days", "duration_minutes", "active", "checklist", "parts",
         "skills"}
    )

    name: Name | None = None
    failure_mode: FailureMode | None = None
    priority: Priority | None = None
    interval_days: IntervalDays | None = None
    start_at: AwareDatetime | None = None
    running_above: float | None = Field(None, allow_inf_nan=False)
    meter_interval: MeterInterval | None = None
    lead_days: LeadDays | None = None
    window_days: WindowDays | None = None
    duration_minutes: Duration | None = None
    active: bool | None = None
    checklist: Annotated[list[ChecklistItem], Field(max_length=100)] | None = None
    parts: Annotated[list[PlanPart], Field(max_length=100)] | None = None
    skills: Annotated[list[PlanSkill], Field(max_length=4)] | None = None
    actor: Actor


class ChecklistItemRead(ReadSchema):
    position: int
    label: str
    required: bool


class PlanPartRead(ReadSchema):
    part_number: str
    quantity: float


class PlanSkillRead(ReadSchema):
    skill: Skill
    min_level: int


class PlanRead(ReadSchema):
    id: int
    name: str
    asset_id: str | None
    asset_model: str | None
    order_type: PlanOrderType
    failure_mode: FailureMode | None
    priority: Priority
    trigger: Trigger
    interval_days: int | None
    start_at: datetime | None
    meter_kind: MeterKind | None
    meter_metric: str | None
    running_above: float | None
    meter_interval: float | None
    lead_days: int
    window_days: int
    duration_minutes: int
    active: bool
    checklist: list[ChecklistItemRead]
    parts: list[PlanPartRead]
    skills: list[PlanSkillRead]
    created_at: datetime
    updated_at: datetime


class OccurrenceRead(ReadSchema):
    id: int
    plan_id: int
    asset_id: str
    occurrence_key: str
    status: Literal["generated", "missed"]
    due_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    meter_value: float | None
    work_order_id: int | None
    reason: Literal["window_passed", "previous_order_open", "order_already_open"] | None = Field(
        description="why a missed occurrence opened no order"
    )
    blocking_work_order_id: int | None = Field(description="the open order that kept this one from being opened")
    recorded_by: str
    recorded_at: datetime


class MeterRead(ReadSchema):
    asset_id: str
    kind: MeterKind
    metric: str
    running_above: float
    value: float = Field(description="run hours or cycles counted up to computed_until")
    running: bool | None
    computed_until: datetime | None = Field(description="the last reading counted")


class RunRequest(RequestSchema):
    now: AwareDatetime | None = Field(None, description="run as of this instant (default: now)")
    actor: Actor


class RunRead(ReadSchema):
    now: datetime
    generated: list[OccurrenceRead]
    missed: list[OccurrenceRead]
    meters_advanced: int
    failed: list[str] = Field(description="plan and asset pairs the run could not handle (logged)")
