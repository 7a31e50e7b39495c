"""What condition monitoring tells the rest of fleetcare: plain, frozen value types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Signal:
    """One metric behind an alert and how far it is from the asset's learned healthy behaviour."""

    metric: str
    value: float
    baseline: float
    deviation: float  # in standard deviations of the healthy baseline, signed
    limit: float | None = None  # the datasheet limit it is heading for, when there is one


@dataclass(frozen=True, slots=True)
class TimeToFailure:
    """A probable failure within ``hours`` (``low``..``high`` is the interval)."""

    hours: float
    low: float
    high: float
    metric: str  # the degrading signal the estimate is extrapolated from


@dataclass(frozen=True, slots=True)
class Alert:
    """A probable failure of one asset: raised by the detector, turned into a preventive work order."""

    asset_id: str
    failure_mode: str  # bearing_wear, cavitation, overheating, seal_leak, imbalance, blockage, unknown
    raised_at: datetime
    score: float
    signals: tuple[Signal, ...]
    time_to_failure: TimeToFailure | None = None
    window: tuple[dict, ...] = field(default=())  # recent samples: {"ts": iso, "metrics": {...}, "score": x}


@dataclass(frozen=True, slots=True)
class AlertCleared:
    """An asset's alert is over: its score has stayed back at healthy levels long enough."""

    asset_id: str
    failure_mode: str
    cleared_at: datetime
