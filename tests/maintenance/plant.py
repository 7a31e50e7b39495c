"""Telemetry for the condition-monitoring tests, without a broker.

:func:`simulated` is the simulators' own offline generator (``simulators.equipment``). The
small generator below it covers what that one does not produce: a blocked line, a fault whose
cause goes away, and a speed schedule chosen by the test. It follows the same specification:
operating-point changes every few minutes, duty cycles, measurement noise, thermal lag, slow
ambient drift, and faults that grow from onset to failure over ``duration`` seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from maintenance.monitor import ConditionMonitor, MonitorResult
from simulators.equipment import generate
from simulators.faults import FaultSpec
from simulators.operation import Operation
from telemetry.readings import Sample

EPOCH = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
MODELS = {"P-1": "CP-200", "M-1": "EM-75"}
HISTORY = 2 * 3600.0  # healthy running before a fault starts: operating-point changes, stops and starts

# where the main signal of a fault stands at failure: the datasheet trip, or the loss of duty
VIBRATION_TRIP, WINDING_TRIP = 11.0, 155.0
HEAD_LOSS, DELIVERY_LOSS = 0.40, 0.30

PUMP_FAULTS = ("bearing_wear", "cavitation", "seal_leak", "imbalance", "blockage")
MOTOR_FAULTS = ("bearing_wear", "overheating", "imbalance")


@dataclass(frozen=True)
class Fault:
    mode: str
    onset: float  # seconds after the start of the run
    duration: float = 600.0  # onset to failure
    acceleration: float = 0.0
    until: float | None = None  # when the cause goes away (cavitation relieved, say); the unit never fails

    @property
    def failure(self) -> float:
        return math.inf if self.until is not None else self.onset + self.duration

    def progress(self, t: float) -> float:
        """0 before onset, 1 at failure, ``acceleration`` 0 for a steady rise, 1 for a quadratic one."""
        if t <= self.onset or (self.until is not None and t >= self.until):
            return 0.0
        f = min((t - self.onset) / self.duration, 1.0)
        return (1.0 - self.acceleration) * f + self.acceleration * f * f


class _Schedule:
    """Setpoint changes every few minutes and run/stop duty cycles (no stop while a fault develops)."""

    def __init__(self, rng: random.Random, low: float, high: float, stops: bool, fault: Fault | None) -> None:
        self.rng, self.low, self.high, self.stops, self.fault = rng, low, high, stops, fault
        self.setpoint = high
        self.next_change = rng.uniform(150, 360)
        self.running = True
        self.next_toggle = rng.uniform(1500, 2400)

    def at(self, t: float) -> tuple[bool, float]:
        if t >= self.next_change:
            self.setpoint = self.rng.uniform(self.low, self.high)
            self.next_change = t + self.rng.uniform(150, 360)
        if self.stops and t >= self.next_toggle:
            quiet = self.fault is None or not (self.fault.onset - 300 <= t <= self.fault.failure)
            if quiet or not self.running:
                self.running = not self.running
            self.next_toggle = t + (self.rng.uniform(1200, 2400) if self.running else self.rng.uniform(180, 480))
        return self.running, self.setpoint


def simulated(
    model: str,
    seconds: float,
    *,
    seed: int = 1,
    fault: str | None = None,
    start: float | None = None,
    operation: Operation = Operation(),
    asset_id: str | None = None,
) -> tuple[list[Sample], FaultSpec | None]:
    """``seconds`` of one unit from the simulators at 1 Hz, with ``fault`` starting at ``start`` if given.

    The unit trips at failure and stays stopped, as the simulator has it.
    """
    asset_id = asset_id or next(a for a, m in MODELS.items() if m == model)
    spec = FaultSpec(asset_id, fault, start) if fault else None
    samples = [
        Sample(asset_id, EPOCH + timedelta(seconds=t), metrics, i)
        for i, (t, metrics) in enumerate(generate(model, seconds, seed=seed, fault=spec, operation=operation))
    ]
    return samples, spec


def _lag(state: float, target: float, dt: float, tau: float) -> float:
    return state + (1.0 - math.exp(-dt / tau)) * (target - state)


def _towards(healthy: float, failed: float, p: float) -> float:
    return healthy + p * (failed - healthy)


def pump(
    seconds: float,
    *,
    seed: int = 1,
    fault: Fault | None = None,
    stops: bool = True,
    asset_id: str = "P-1",
    setpoints: Callable[[float], float] | None = None,
) -> list[Sample]:
    """CP-200 samples at 1 Hz; the run ends at ``seconds`` or at the fault's failure.

    ``setpoints`` (time to speed setpoint) replaces the usual operating-point changes.
    """
    rng = random.Random(seed)
    schedule = _Schedule(rng, 2200.0, 2950.0, stops, fault)
    end = min(seconds, fault.failure) if fault else seconds
    speed, bearing, phase = 2950.0, 55.0, rng.uniform(0, 2 * math.pi)
    out = []
    for i in range(int(end)):
        t = float(i)
        running, setpoint = schedule.at(t)
        if setpoints is not None:
            setpoint = setpoints(t)
        target = setpoint if running else 0.0
        speed += max(-120.0, min(120.0, target - speed))  # the VFD ramps 120 rpm/s
        s = speed / 2950.0
        p = fault.progress(t) if fault else 0.0
        mode = fault.mode if fault else None
        ambient = 25.0 + 3.0 * math.sin(2 * math.pi * t / 21600 + phase)
        flow, pressure = 120.0 * s, 6.0 * s * s
        current = (8.0 + 47.0 * s**3) if s > 0.05 else 0.0
        vibration = (0.5 + 1.5 * s * s) if s > 0.05 else 0.1
        heat = 30.0 * s * s
        noise_p = noise_v = 1.0
        # the main signal of each fault reaches the failure level at failure, whatever the speed
        if mode == "bearing_wear":
            vibration = _towards(vibration, VIBRATION_TRIP, p)
            heat += 25.0 * p
            current += 3.0 * p
        elif mode == "cavitation":
            pressure *= 1.0 - HEAD_LOSS * p
            flow *= math.sqrt(1.0 - HEAD_LOSS * p)
            vibration += 4.0 * p
            current -= 2.0 * p
            noise_p, noise_v = 1.0 + 10.0 * p, 1.0 + 12.0 * p
        elif mode == "seal_leak":
            flow *= 1.0 - DELIVERY_LOSS * p
            pressure *= (1.0 - DELIVERY_LOSS * p) ** 2
        elif mode == "imbalance":
            vibration = _towards(vibration, VIBRATION_TRIP, p)
        elif mode == "blockage":
            flow *= 1.0 - DELIVERY_LOSS * p
            pressure += 1.5 * p * s * s
            current -= 6.0 * p * s**3
        bearing = _lag(bearing, ambient + heat, 1.0, 200.0)
        metrics = {
            "speed_rpm": speed + rng.gauss(0, 3.0),
            "flow_m3h": max(0.0, flow + rng.gauss(0, 0.8)),
            "pressure_bar": max(0.0, pressure + rng.gauss(0, 0.04 * noise_p)),
            "motor_current_a": max(0.0, current + rng.gauss(0, 0.4)),
            "vibration_rms_mm_s": max(0.0, vibration + rng.gauss(0, 0.08 * noise_v)),
            "bearing_temp_c": bearing + rng.gauss(0, 0.15),
        }
        out.append(Sample(asset_id, EPOCH + timedelta(seconds=t), metrics, i))
    return out


def motor(
    seconds: float, *, seed: int = 1, fault: Fault | None = None, stops: bool = True, asset_id: str = "M-1"
) -> list[Sample]:
    """EM-75 samples at 1 Hz; the run ends at ``seconds`` or at the fault's failure."""
    rng = random.Random(seed)
    schedule = _Schedule(rng, 0.5, 1.0, stops, fault)
    end = min(seconds, fault.failure) if fault else seconds
    load, speed, bearing, winding = 1.0, 1480.0, 50.0, 85.0
    phase = rng.uniform(0, 2 * math.pi)
    out = []
    for i in range(int(end)):
        t = float(i)
        running, setpoint = schedule.at(t)
        load += max(-0.05, min(0.05, setpoint - load))
        speed += max(-150.0, min(150.0, (1500.0 - 20.0 * load if running else 0.0) - speed))
        on = speed > 50.0
        p = fault.progress(t) if fault else 0.0
        mode = fault.mode if fault else None
        ambient = 25.0 + 3.0 * math.sin(2 * math.pi * t / 21600 + phase)
        current = 130.0 * (0.3 + 0.7 * load) * min(1.0, speed / 1480.0) if on else 0.0
        vibration = 1.7 + 0.1 * load if on else 0.1
        bearing_heat = (20.0 + 5.0 * load) if on else 0.0
        winding_extra = 0.0
        if mode == "bearing_wear":
            vibration = _towards(vibration, VIBRATION_TRIP, p)
            bearing_heat += 25.0 * p
            current += 3.0 * p
        elif mode == "overheating":
            bearing_heat += 8.0 * p
            current += 3.0 * p
        elif mode == "imbalance":
            vibration = _towards(vibration, VIBRATION_TRIP, p)
        bearing = _lag(bearing, ambient + bearing_heat, 1.0, 350.0)
        winding = _lag(winding, ambient + 60.0 * (current / 130.0) ** 2, 1.0, 500.0)
        if mode == "overheating":
            winding_extra = _towards(winding, WINDING_TRIP, p) - winding
        metrics = {
            "speed_rpm": speed + rng.gauss(0, 1.0) if on else 0.0,
            "motor_current_a": max(0.0, current + rng.gauss(0, 0.8)) if on else 0.0,
            "vibration_rms_mm_s": max(0.0, vibration + rng.gauss(0, 0.07)),
            "bearing_temp_c": bearing + rng.gauss(0, 0.15),
            "winding_temp_c": winding + winding_extra + rng.gauss(0, 0.3),
        }
        out.append(Sample(asset_id, EPOCH + timedelta(seconds=t), metrics, i))
    return out


def feed(monitor: ConditionMonitor, samples: list[Sample], batch: int = 50) -> MonitorResult:
    """Hand the samples to a monitor in gateway-sized batches; the results merged."""
    merged = MonitorResult()
    for i in range(0, len(samples), batch):
        result = monitor.process(samples[i : i + batch], MODELS)
        merged.scores.extend(result.scores)
        merged.alerts.extend(result.alerts)
        merged.cleared.extend(result.cleared)
    return merged
