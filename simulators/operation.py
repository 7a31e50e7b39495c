"""How a unit is run: its operating points, duty cycles and the ambient it sits in."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from simulators.errors import ConfigRejected

_AMBIENT_PERIOD_S = 4 * 3600.0


@dataclass(frozen=True, slots=True)
class Operation:
    """How a unit is run; durations in seconds, each drawn around its mean from the unit's seed.

    ``level`` is the fraction of rated duty (speed for a pump, load for a motor).
    With ``change_every_s`` the operator moves to a new level that often on
    average; with ``None`` the unit holds ``level``.
    """

    change_every_s: float | None = 180.0
    level: float = 1.0
    duty_cycles: bool = True
    run_s: float = 1200.0
    stop_s: float = 120.0
    ambient_c: float = 25.0
    ambient_swing_c: float = 2.0

    def __post_init__(self) -> None:
        for name in ("run_s", "stop_s") + (("change_every_s",) if self.change_every_s is not None else ()):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigRejected(f"{name} must be a positive number of seconds, got {value!r}")
        if not 0 < self.level <= 1:
            raise ConfigRejected(f"level must be a fraction of rated duty in (0, 1], got {self.level!r}")
        if not (-40 <= self.ambient_c <= 60 and 0 <= self.ambient_swing_c <= 20):
            raise ConfigRejected(f"implausible ambient {self.ambient_c!r} ± {self.ambient_swing_c!r} °C")


class Schedule:
    """When a unit runs, at which level, and the ambient temperature: deterministic from ``seed``.

    The unit also runs throughout ``keep_running`` windows whatever its duty cycle
    (a fault develops while it works) and stays stopped after ``trip_s``.
    """

    def __init__(
        self,
        operation: Operation,
        seed: int | str,
        levels: tuple[float, float],
        *,
        keep_running: Sequence[tuple[float, float]] = (),
        trip_s: float | None = None,
    ) -> None:
        self.operation = operation
        self.levels = levels
        self.keep_running = tuple(keep_running)
        self.trip_s = trip_s
        self._level_rng = random.Random(f"{seed}:levels")
        self._duty_rng = random.Random(f"{seed}:duty")
        shape = random.Random(f"{seed}:ambient")
        self._ambient_offset = shape.uniform(-1.5, 1.5)
        self._ambient_phase = shape.uniform(0, 2 * math.pi)
        held = operation.change_every_s is None
        self._level_times = [0.0]
        self._level_values = [operation.level if held else self._draw_level()]
        self._duty_times = [0.0]  # the unit runs from even entries and stands still from odd ones

    def level(self, t_s: float) -> float:
        """The operating point asked for at ``t_s`` (fraction of rated duty)."""
        every = self.operation.change_every_s
        if every is None:
            return self._level_values[0]
        while self._level_times[-1] <= t_s:
            self._level_times.append(self._level_times[-1] + every * self._level_rng.uniform(0.5, 1.5))
            self._level_values.append(self._draw_level())
        return self._level_values[bisect_right(self._level_times, t_s) - 1]

    def running(self, t_s: float) -> bool:
        """Whether the unit is asked to run at ``t_s``."""
        if self.trip_s is not None and t_s > self.trip_s:
            return False
        if not self.operation.duty_cycles or any(a <= t_s <= b for a, b in self.keep_running):
            return True
        op = self.operation
        while self._duty_times[-1] <= t_s:
            mean = op.run_s if len(self._duty_times) % 2 else op.stop_s
            self._duty_times.append(self._duty_times[-1] + mean * self._duty_rng.uniform(0.5, 1.5))
        return (bisect_right(self._duty_times, t_s) - 1) % 2 == 0

    def ambient(self, t_s: float) -> float:
        """Ambient temperature in °C, drifting slowly over a few hours."""
        op = self.operation
        swing = op.ambient_swing_c * math.sin(2 * math.pi * t_s / _AMBIENT_PERIOD_S + self._ambient_phase)
        return op.ambient_c + self._ambient_offset + swing

    def _draw_level(self) -> float:
        return self._level_rng.uniform(*self.levels)
