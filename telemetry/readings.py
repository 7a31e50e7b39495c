"""The value types every stage after the gateway shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Reading:
    """One metric of one asset at one instant, as accepted at the edge."""

    asset_id: str
    metric: str
    ts: datetime
    value: float
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """All metrics one asset reported for one instant (one element of a telemetry message)."""

    asset_id: str
    ts: datetime
    metrics: dict[str, float]
    seq: int | None = None

    def readings(self) -> list[Reading]:
        """Split the sample into one reading per metric."""
        return [Reading(self.asset_id, name, self.ts, value, self.seq) for name, value in self.metrics.items()]


@dataclass(frozen=True, slots=True)
class DeviceFault:
    """A fault code a device reported about itself (``{root}/{site}/{asset}/faults``)."""

    asset_id: str
    ts: datetime
    code: str
    severity: str  # info, warning, critical
    message: str | None = None
