"""Degradation modes a simulated asset can develop, and how an injected fault is written.

A fault starts ``start_s`` seconds after its device starts and fails the asset
``duration_s`` later; in between its severity grows from 0 to 1.  ``failure_s``
(start + duration) is the ground truth a time-to-failure estimate is judged
against.  The text form is ``ASSET:MODE@SECONDS[+DURATION]``::

    >>> spec = parse_fault("pump-003:bearing_wear@30+900")
    >>> spec.failure_s
    930.0
    >>> str(spec)
    'pump-003:bearing_wear@30+900'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from simulators.errors import FaultRejected
from simulators.topics import is_valid_id

DEFAULT_DURATION_S = 600.0
FORM = "ASSET:MODE@SECONDS[+DURATION]"

# Damage spreads faster as it grows (the P-F curve bends down), but not so much
# that the first tenth of the way stays invisible: severity is 7.75 % there.
_ACCELERATION = 0.25


@dataclass(frozen=True, slots=True)
class FailureMode:
    """A way equipment degrades: which kinds it affects and the main signal that defines its failure.

    At failure the main ``metric`` reaches ``limit`` (an absolute trip or insulation
    limit) or has lost ``loss`` of its healthy value.
    """

    name: str
    kinds: frozenset[str]
    metric: str
    limit: float | None = None
    loss: float | None = None

    def check_kind(self, kind: str, model: str) -> None:
        """Raise :class:`FaultRejected` unless the mode can happen to ``kind`` equipment."""
        if kind not in self.kinds:
            raise FaultRejected(
                f"{self.name} does not apply to a {kind} ({model}); it applies to: {', '.join(sorted(self.kinds))}"
            )


_BOTH = frozenset({"pump", "motor"})
MODES: dict[str, FailureMode] = {
    m.name: m
    for m in (
        # ISO 10816 trip: the machine protection stops the unit.
        FailureMode("bearing_wear", _BOTH, "vibration_rms_mm_s", limit=11.0),
        # Trip level at rated speed; at a lower speed the 1x component is smaller (it grows with speed²).
        FailureMode("imbalance", _BOTH, "vibration_rms_mm_s", limit=11.0),
        # Loss of head: the pump no longer holds its duty point.
        FailureMode("cavitation", frozenset({"pump"}), "pressure_bar", loss=0.40),
        FailureMode("seal_leak", frozenset({"pump"}), "flow_m3h", loss=0.30),
        # Insulation class F.
        FailureMode("overheating", frozenset({"motor"}), "winding_temp_c", limit=155.0),
    )
}


def severity(progress: float) -> float:
    """Severity 0..1 of a fault ``progress`` (0 at onset, 1 at failure) of the way to failure."""
    p = min(1.0, max(0.0, progress))
    return (1 - _ACCELERATION) * p + _ACCELERATION * p * p


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault to inject: ``mode`` develops on ``asset_id`` from ``start_s`` and fails it ``duration_s`` later."""

    asset_id: str
    mode: str
    start_s: float
    duration_s: float = DEFAULT_DURATION_S

    def __post_init__(self) -> None:
        if not is_valid_id(self.asset_id):
            raise FaultRejected(f"invalid asset id {self.asset_id!r}: 1-64 letters, digits, '_', '-' or '.'")
        if self.mode not in MODES:
            raise FaultRejected(f"unknown failure mode {self.mode!r}; known: {', '.join(sorted(MODES))}")
        object.__setattr__(self, "start_s", _seconds(self.start_s, "start", positive=False))
        object.__setattr__(self, "duration_s", _seconds(self.duration_s, "duration", positive=True))
        if not math.isfinite(self.failure_s):
            raise FaultRejected(f"start + duration must be finite, got {self.start_s!r} + {self.duration_s!r}")

    @property
    def failure_mode(self) -> FailureMode:
        return MODES[self.mode]

    @property
    def failure_s(self) -> float:
        """When the asset fails, in seconds after its device starts (the ground truth)."""
        return self.start_s + self.duration_s

    def severity_at(self, t_s: float) -> float:
        """0 before onset, growing to 1 at ``failure_s``, 1 afterwards."""
        return severity((t_s - self.start_s) / self.duration_s) if t_s > self.start_s else 0.0

    def __str__(self) -> str:
        return f"{self.asset_id}:{self.mode}@{_text(self.start_s)}+{_text(self.duration_s)}"


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_fault(text: str) -> FaultSpec:
    """Read ``ASSET:MODE@SECONDS[+DURATION]``, e.g. ``pump-003:bearing_wear@30+900``."""
    if not isinstance(text, str):
        raise FaultRejected(f"fault must be text of the form {FORM}, got {type(text).__name__}")
    asset_id, colon, rest = text.strip().partition(":")
    mode, at, timing = rest.partition("@")
    if not colon or not at:
        raise FaultRejected(f"fault {text!r}: expected {FORM}, e.g. pump-003:bearing_wear@30+900")
    start, plus, duration = timing.partition("+")
    try:
        return FaultSpec(
            asset_id,
            mode,
            _number(start, "start"),
            _number(duration, "duration") if plus else DEFAULT_DURATION_S,
        )
    except FaultRejected as exc:
        raise FaultRejected(f"fault {text!r}: {exc}") from None


def _number(text: str, label: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise FaultRejected(f"{label} must be a number of seconds such as 30 or 12.5, got {text!r}")
    return float(text)


def _seconds(value: object, label: str, *, positive: bool) -> float:
    try:
        seconds = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        raise FaultRejected(f"{label} must be a finite number of seconds, got {value!r}")
    if seconds < 0 or (positive and seconds == 0):
        raise FaultRejected(f"{label} must be {'positive' if positive else 'zero or more'}, got {value!r}")
    return seconds


def _text(seconds: float) -> str:
    # Positional notation, shortest exact form: ``1e-07`` would not parse back.
    return f"{Decimal(repr(seconds)):f}".removesuffix(".0")
