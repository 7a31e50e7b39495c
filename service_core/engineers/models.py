"""Rows of the engineers area, as read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time


@dataclass(frozen=True, slots=True)
class Engineer:
    id: int
    name: str
    email: str | None
    phone: str | None
    skills: list[dict]  # [{"skill": "mechanical", "level": 3}, ...] ordered by skill
    home_lat: float
    home_lon: float
    work_days: list[int]  # ISO weekdays, 1 = Monday
    work_start: time
    work_end: time
    timezone: str
    active: bool
    created_at: datetime

    def skill_levels(self) -> dict[str, int]:
        """Skill name to level (1-5)."""
        return {s["skill"]: s["level"] for s in self.skills}
