"""What condition monitoring knows about each equipment model: its signals and its datasheet limits.

The limits here are the ones the migration seeds into ``maintenance.model_limits``; the database
copy is the one an operator edits, this one is the fallback for a monitor built without it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    """Datasheet limits of one metric.

    ``low``/``high`` raise an alarm; the asset counts as failed beyond ``trip_low``/``trip_high``,
    or once the metric has lost ``loss`` (a fraction) of its healthy value at the operating point,
    as a pump that no longer holds its duty point has failed whatever its absolute pressure.
    """

    low: float | None
    high: float | None
    unit: str
    trip_low: float | None = None
    trip_high: float | None = None
    loss: float | None = None

    def __post_init__(self) -> None:
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"limit low {self.low} is not below high {self.high}")
        if self.loss is not None and not 0 < self.loss < 1:
            raise ValueError(f"loss must be a fraction between 0 and 1, not {self.loss}")

    def failure_level(self, rising: bool, healthy: float) -> float | None:
        """The level a signal drifting up (``rising``) or down, healthy at ``healthy``, fails at.

        The trip level, else the alarm limit; falling, whichever of that and the loss comes first.
        """
        if rising:
            return self.trip_high if self.trip_high is not None else self.high
        floor = self.trip_low if self.trip_low is not None else self.low
        if self.loss is not None:
            lost = (1.0 - self.loss) * healthy
            floor = lost if floor is None else max(floor, lost)
        return floor


@dataclass(frozen=True, slots=True)
class Profile:
    """How an equipment model is watched.

    ``driver`` is the operating-point signal the condition signals are predicted from (the speed a
    VFD sets, or the current a motor's load draws); ``thermal`` are the condition signals that
    follow it with a thermal lag. ``running_metric`` below ``running_min`` means the unit is
    stopped or passing through a start or a stop: the threshold sits just below the normal
    operating range, so a run-down is never scored as an operating point.
    """

    model: str
    driver: str | None
    nominal: float
    running_metric: str | None
    running_min: float
    condition: tuple[str, ...]
    thermal: tuple[str, ...] = ()


PROFILES: dict[str, Profile] = {
    "CP-200": Profile(
        model="CP-200",
        driver="speed_rpm",
        nominal=2950.0,
        running_metric="speed_rpm",
        running_min=2000.0,  # the VFD's operating points span 2200-2950 rpm
        condition=("flow_m3h", "pressure_bar", "motor_current_a", "vibration_rms_mm_s", "bearing_temp_c"),
        thermal=("bearing_temp_c",),
    ),
    "EM-75": Profile(
        model="EM-75",
        # the motor's load is not measured; the current it draws is the best proxy for it
        driver="motor_current_a",
        nominal=130.0,
        running_metric="speed_rpm",
        running_min=1300.0,  # a grid-fed induction motor runs within a few percent of 1500 rpm
        condition=("vibration_rms_mm_s", "bearing_temp_c", "winding_temp_c"),
        thermal=("bearing_temp_c", "winding_temp_c"),
    ),
}

DATASHEET: dict[str, dict[str, Limit]] = {
    "CP-200": {
        "speed_rpm": Limit(None, 3100.0, "rpm"),
        # a pump that has lost 30 % of its delivery or 40 % of its head no longer holds its duty point
        "flow_m3h": Limit(40.0, 150.0, "m3/h", loss=0.30),
        "pressure_bar": Limit(2.0, 8.0, "bar", trip_low=1.2, trip_high=9.0, loss=0.40),
        "motor_current_a": Limit(None, 66.0, "A", trip_high=72.0),
        "vibration_rms_mm_s": Limit(None, 7.1, "mm/s", trip_high=11.0),
        "bearing_temp_c": Limit(None, 90.0, "degC", trip_high=105.0),
    },
    "EM-75": {
        "speed_rpm": Limit(None, 1550.0, "rpm"),
        "motor_current_a": Limit(None, 150.0, "A", trip_high=170.0),
        "vibration_rms_mm_s": Limit(None, 7.1, "mm/s", trip_high=11.0),
        "bearing_temp_c": Limit(None, 90.0, "degC", trip_high=105.0),
        "winding_temp_c": Limit(None, 140.0, "degC", trip_high=155.0),  # insulation class F
    },
}


def profile_for(model: str, metrics: tuple[str, ...] = ()) -> Profile:
    """The profile of a known model; an unknown one is watched on every metric it sends, without a driver."""
    known = PROFILES.get(model)
    if known is not None:
        return known
    return Profile(
        model=model,
        driver=None,
        nominal=1.0,
        running_metric=None,
        running_min=0.0,
        condition=tuple(sorted(metrics)),
    )
