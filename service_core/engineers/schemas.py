"""API shapes of engineers: skills with levels, home base, working hours."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import datetime, time
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from service_core.schemas import PatchSchema, ReadSchema, RequestSchema

Skill = Literal["mechanical", "electrical", "hydraulic", "controls"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Weekday = Annotated[int, Field(ge=1, le=7, description="ISO day of the week, 1 = Monday")]


class SkillLevel(RequestSchema):
    skill: Skill
    level: int = Field(ge=1, le=5, description="1 = trainee .. 5 = expert")


class WorkingHours(RequestSchema):
    days: list[Weekday] = Field(default=[1, 2, 3, 4, 5], min_length=1, max_length=7)
    start: time = time(8, 0)
    end: time = time(17, 0)
    timezone: str = "UTC"

    @field_validator("days")
    @classmethod
    def _distinct_days(cls, days: list[int]) -> list[int]:
        if len(set(days)) != len(days):
            raise ValueError("days must not repeat")
        return sorted(days)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @field_validator("start", "end")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("give a wall-clock time; the time zone is the 'timezone' field")
        return value

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


def _distinct_skills(skills: list[SkillLevel] | None) -> list[SkillLevel] | None:
    if skills is not None and len({s.skill for s in skills}) != len(skills):
        raise ValueError("each skill may be listed once")
    return skills


class EngineerCreate(RequestSchema):
    name: Name
    email: str | None = None
    phone: str | None = None
    skills: list[SkillLevel] = Field(default_factory=list)
    home_lat: float = Field(ge=-90, le=90)
    home_lon: float = Field(ge=-180, le=180)
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    active: bool = True

    distinct_skills = field_validator("skills")(_distinct_skills)


class EngineerUpdate(PatchSchema):
    not_null = frozenset({"name", "skills", "home_lat", "home_lon", "working_hours", "active"})

    name: Name | None = None
    email: str | None = None
    phone: str | None = None
    skills: list[SkillLevel] | None = None
    home_lat: float | None = Field(default=None, ge=-90, le=90)
    home_lon: float | None = Field(default=None, ge=-180, le=180)
    working_hours: WorkingHours | None = None
    active: bool | None = None

    distinct_skills = field_validator("skills")(_distinct_skills)


class EngineerRead(ReadSchema):
    id: int
    name: str
    email: str | None
    phone: str | None
    skills: list[SkillLevel]
    home_lat: float
    home_lon: float
    working_hours: WorkingHours
    active: bool
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _nest_working_hours(cls, data: Any) -> Any:
        """Rows keep working hours in four columns; the API shows them as one object."""
        if is_dataclass(data) and not isinstance(data, type):
            data = asdict(data)
        if isinstance(data, dict) and "working_hours" not in data and "work_days" in data:
            data = dict(data)
            data["working_hours"] = {
                "days": data.pop("work_days"),
                "start": data.pop("work_start"),
                "end": data.pop("work_end"),
                "timezone": data.pop("timezone"),
            }
        return data
