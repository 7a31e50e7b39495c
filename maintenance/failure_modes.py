"""Naming the probable failure mode from which signals deviate, which way, and how noisily."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

BEARING_WEAR = "bearing_wear"
CAVITATION = "cavitation"
OVERHEATING = "overheating"
SEAL_LEAK = "seal_leak"
IMBALANCE = "imbalance"
BLOCKAGE = "blockage"
UNKNOWN = "unknown"
MODES = (BEARING_WEAR, CAVITATION, OVERHEATING, SEAL_LEAK, IMBALANCE, BLOCKAGE, UNKNOWN)

# modes recognised by what does *not* deviate: a lagging secondary signal may still be on its way
PROVISIONAL = frozenset({IMBALANCE, UNKNOWN})

SHIFTED = 2.0  # healthy standard deviations: a signal this far off has moved
STRONG = 3.0  # far enough off to stand as evidence on its own
LEANING = 1.0  # enough to tell which way a confirming signal goes
NOISY = 1.8  # short-term variability, relative to healthy, that counts as fluctuating
RISING = 2.5  # healthy standard deviations per minute: a lagging signal on its way up

FLOW, PRESSURE, CURRENT = "flow_m3h", "pressure_bar", "motor_current_a"
VIBRATION, BEARING_TEMP, WINDING_TEMP = "vibration_rms_mm_s", "bearing_temp_c", "winding_temp_c"


@dataclass(frozen=True, slots=True)
class Deviation:
    """How one signal has behaved lately."""

    level: float  # typical deviation from healthy, in healthy standard deviations, signed
    noise: float = 1.0  # short-term variability relative to healthy (1: as noisy as when healthy)
    trend: float = 0.0  # how fast the deviation grows, in healthy standard deviations per minute


def classify(deviations: Mapping[str, Deviation]) -> str:
    """The failure mode whose signature the deviations match best.

    >>> classify({VIBRATION: Deviation(6.0), BEARING_TEMP: Deviation(1.5, trend=2.5), CURRENT: Deviation(1.2)})
    'bearing_wear'
    >>> classify({VIBRATION: Deviation(6.0), BEARING_TEMP: Deviation(0.3)})
    'imbalance'
    """

    def level(metric: str) -> float:
        d = deviations.get(metric)
        return 0.0 if d is None else d.level

    def noisy(metric: str) -> bool:
        d = deviations.get(metric)
        return d is not None and d.noise >= NOISY

    def rising(metric: str) -> bool:
        d = deviations.get(metric)
        return d is not None and d.level >= LEANING and d.trend >= RISING

    vibration = level(VIBRATION)
    winding = level(WINDING_TEMP)

    # the winding heats on its own: overheating, unless it merely follows a vibrating bearing
    if winding >= SHIFTED and winding >= vibration:
        return OVERHEATING

    hydraulic = PRESSURE in deviations or FLOW in deviations
    if hydraulic:
        flow, pressure = level(FLOW), level(PRESSURE)
        # a throttled line: less flow against more head, and the motor unloads
        if flow <= -SHIFTED and (pressure >= LEANING or (pressure > -LEANING and level(CURRENT) <= -LEANING)):
            return BLOCKAGE
        # a pump cavitating loses head, which fluctuates, and its casing rattles; a leaking seal
        # loses delivery and head quietly. Less head for more flow is the system's demand moving,
        # not the pump; and a louder vibration alone is not cavitation: the spread of a vibration
        # reading grows with the reading
        losing = (pressure <= -SHIFTED and flow < LEANING) or (flow <= -SHIFTED and pressure < LEANING)
        if (losing or pressure <= -LEANING) and noisy(PRESSURE):
            return CAVITATION
        if losing and (vibration >= SHIFTED or noisy(VIBRATION)):
            return CAVITATION
        if losing and pressure < 0 and flow < 0:
            return SEAL_LEAK

    if vibration >= SHIFTED:
        # a wearing bearing rubs: it heats (with a lag, so a rising temperature is the sign) and draws
        # a little more current; an imbalance only shakes. A temperature merely standing off, with
        # the model frozen while the alert is pending, is not evidence: ambient keeps moving
        temperature, current = level(BEARING_TEMP), level(CURRENT)
        if rising(BEARING_TEMP) or temperature >= 2 * SHIFTED or current >= STRONG:
            return BEARING_WEAR
        if temperature >= SHIFTED and current >= SHIFTED:
            return BEARING_WEAR
        return IMBALANCE
    return UNKNOWN
