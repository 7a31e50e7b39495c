"""Physics of the simulated equipment: pure, deterministic given a seed and the times it is stepped at.

Signals are coupled through the physics (affinity laws, I² heating, slip),
temperatures follow first-order thermal lags, and measurement noise is added
last.  Injected faults bend the same physics, so a signal that is not part of a
fault's signature keeps its healthy value sample for sample::

    >>> held = Operation(change_every_s=None, duty_cycles=False)
    >>> healthy = dict(generate("CP-200", 300, seed=7, operation=held))
    >>> worn = dict(generate("CP-200", 300, seed=7, operation=held, fault="pump-1:bearing_wear@60+240"))
    >>> healthy[300.0]["vibration_rms_mm_s"] < 2.8 and worn[300.0]["vibration_rms_mm_s"] > 10  # near trip (11)
    True
    >>> healthy[300.0]["flow_m3h"] == worn[300.0]["flow_m3h"]
    True
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator
from typing import ClassVar

from simulators.errors import ConfigRejected, FaultRejected
from simulators.faults import MODES, FaultSpec, parse_fault
from simulators.operation import Operation, Schedule

# A unit is started this long before a fault's onset when its duty cycle would
# have it stopped, so the fault develops on a warm, running machine.
_WARM_UP_S = 300.0
_VIBRATION_LIMIT = MODES["bearing_wear"].limit
_VIBRATION_ALARM = 7.1  # ISO 10816 zone C/D boundary


def _lag(value: float, target: float, dt: float, tau: float) -> float:
    """First-order lag, exact for a target held over ``dt``."""
    return target + (value - target) * math.exp(-dt / tau)


def _ramp(value: float, target: float, max_step: float) -> float:
    return min(target, value + max_step) if target > value else max(target, value - max_step)


class _Wander:
    """Slow zero-mean process noise (Ornstein-Uhlenbeck), exact for any step."""

    def __init__(self, sigma: float, tau: float) -> None:
        self.sigma, self.tau, self.value = sigma, tau, 0.0

    def step(self, dt: float, normal: float) -> float:
        keep = math.exp(-dt / self.tau)
        self.value = self.value * keep + self.sigma * math.sqrt(1 - keep * keep) * normal
        return self.value


class Equipment:
    """A unit in operation; ``step(t_s)`` returns what its sensors read ``t_s`` seconds after it started."""

    model: ClassVar[str]
    kind: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]]
    levels: ClassVar[tuple[float, float]]  # operating range, fraction of rated duty
    noise: ClassVar[dict[str, tuple[float, float]]]  # measurement noise: absolute σ, σ relative to the value
    # Transmitters clamp at zero; drives and flowmeters report small readings as zero.
    cutoffs: ClassVar[dict[str, float]] = {}

    def __init__(self, *, seed: int | str = 0, operation: Operation = Operation(), faults: Iterable[FaultSpec] = ()):
        self.seed = seed
        self.operation = operation
        self.faults = tuple(faults)
        for fault in self.faults:
            if not isinstance(fault, FaultSpec):
                raise FaultRejected(f"expected a FaultSpec, got {fault!r}")
            fault.failure_mode.check_kind(self.kind, self.model)
        modes = [f.mode for f in self.faults]
        if len(set(modes)) != len(modes):
            raise FaultRejected(f"{self.model}: each failure mode may be injected once, got {', '.join(modes)}")
        low, high = self.levels
        if operation.change_every_s is None and not low <= operation.level <= high:
            raise ConfigRejected(
                f"{self.model} runs between {low:.2f} and {high:.2f} of rated duty, not {operation.level}"
            )
        self.failure_s = min((f.failure_s for f in self.faults), default=None)
        self.schedule = Schedule(
            operation,
            seed,
            self.levels,
            keep_running=[(f.start_s - _WARM_UP_S, f.failure_s) for f in self.faults],
            trip_s=self.failure_s,
        )
        self._noise = random.Random(f"{seed}:noise")
        self._fault_noise = random.Random(f"{seed}:fault-noise")
        self._t: float | None = None

    def step(self, t_s: float) -> dict[str, float]:
        """Advance to ``t_s`` (never backwards) and read every metric."""
        if self._t is None:
            self._start(t_s)
            self._t = t_s
        if t_s < self._t:
            raise ValueError(f"time went backwards: {t_s} after {self._t}")
        dt, self._t = t_s - self._t, t_s
        severity = {f.mode: f.severity_at(t_s) for f in self.faults}
        # A fixed number of draws per step keeps the healthy noise identical with or without a fault.
        extra = [self._fault_noise.gauss(0, 1) for _ in range(3)] if self.faults else [0.0, 0.0, 0.0]
        tripped = self.failure_s is not None and t_s > self.failure_s
        true = self._physics(t_s, dt, severity, extra, tripped)
        return {name: self._measure(name, value) for name, value in true.items()}

    def _measure(self, name: str, value: float) -> float:
        absolute, relative = self.noise[name]
        reading = value + self._noise.gauss(0, absolute + relative * abs(value))
        if name == "vibration_rms_mm_s":
            return abs(reading)  # an RMS is never negative
        cutoff = self.cutoffs.get(name)
        return 0.0 if cutoff is not None and reading < cutoff else reading

    def _normal(self) -> float:
        return self._noise.gauss(0, 1)

    def _start(self, t_s: float) -> None:
        raise NotImplementedError

    def _physics(
        self, t_s: float, dt: float, severity: dict[str, float], extra: list[float], tripped: bool
    ) -> dict[str, float]:
        raise NotImplementedError


class Pump(Equipment):
    """CP-200 centrifugal pump on a variable-speed drive: flow ∝ speed, pressure ∝ speed², power ∝ speed³."""

    model = "CP-200"
    kind = "pump"
    metrics = ("speed_rpm", "flow_m3h", "pressure_bar", "motor_current_a", "vibration_rms_mm_s", "bearing_temp_c")
    RATED_RPM = 2950.0
    levels = (2200.0 / RATED_RPM, 1.0)
    RATED_FLOW = 120.0
    RATED_BAR = 6.0
    MAGNETISING_A = 19.0
    ACTIVE_A = math.sqrt(55.0**2 - MAGNETISING_A**2)  # 55 A at rated speed
    RAMP_RPM_S = 250.0  # drive acceleration ramp
    BEARING_RISE_C = 30.0
    BEARING_TAU_S = 240.0
    noise = {
        "speed_rpm": (1.0, 0.0),
        "flow_m3h": (0.3, 0.0),
        "pressure_bar": (0.012, 0.0),
        "motor_current_a": (0.2, 0.002),
        "vibration_rms_mm_s": (0.02, 0.02),
        "bearing_temp_c": (0.08, 0.0),
    }
    cutoffs = {"speed_rpm": 5.0, "flow_m3h": 1.5, "pressure_bar": 0.0, "motor_current_a": 1.0}

    def _start(self, t_s: float) -> None:
        n = self.schedule.level(t_s) if self.schedule.running(t_s) else 0.0
        self._rpm = n * self.RATED_RPM
        self._bearing = self.schedule.ambient(t_s) + self.BEARING_RISE_C * n * n
        self._jitter = _Wander(0.001, 2.0)  # drive speed regulation
        self._demand = _Wander(0.002, 30.0)  # system resistance: valves, consumers

    def _physics(self, t_s, dt, severity, extra, tripped):
        wear, imbalance = severity.get("bearing_wear", 0.0), severity.get("imbalance", 0.0)
        cavitation, leak = severity.get("cavitation", 0.0), severity.get("seal_leak", 0.0)
        running = self.schedule.running(t_s)
        target = self.schedule.level(t_s) * self.RATED_RPM if running else 0.0
        self._rpm = _ramp(self._rpm, target, self.RAMP_RPM_S * dt)
        rpm = self._rpm * (1 + self._jitter.step(dt, self._normal()))
        n = rpm / self.RATED_RPM
        # Signatures that need the pump turning fade out as it slows to a stop.
        turning = min(1.0, rpm / (self.levels[0] * self.RATED_RPM))
        z = self._demand.step(dt, self._normal())

        # The leak bypasses the discharge; what is delivered still meets the same piping (pressure ∝ flow²).
        delivered = 1 - MODES["seal_leak"].loss * leak
        head = (1 - MODES["cavitation"].loss * cavitation) * (1 + 0.08 * cavitation * extra[0])
        pressure = self.RATED_BAR * n * n * (1 + z) * delivered**2 * head
        flow = self.RATED_FLOW * n * (1 - z) * delivered * math.sqrt(max(0.0, head))
        power = n**3 * (1 - 0.08 * cavitation) + 0.04 * wear * turning  # bearing friction
        energised = min(1.0, rpm / 150.0)
        current = math.hypot(self.MAGNETISING_A * energised, self.ACTIVE_A * power)

        healthy = 0.03 + 0.5 * n + 1.47 * n * n  # 2.0 mm/s at rated speed
        vibration = (
            healthy
            + wear * (_VIBRATION_LIMIT - healthy) * turning * (1 + 0.05 * extra[1])
            + imbalance * (_VIBRATION_LIMIT - 2.0) * n * n
            + cavitation * ((_VIBRATION_ALARM - healthy) + 1.2 * extra[2]) * turning
        )
        heat = self.BEARING_RISE_C * n * n + 25.0 * wear * turning
        self._bearing = _lag(self._bearing, self.schedule.ambient(t_s) + heat, dt, self.BEARING_TAU_S)
        return {
            "speed_rpm": rpm,
            "flow_m3h": flow,
            "pressure_bar": pressure,
            "motor_current_a": current,
            "vibration_rms_mm_s": vibration,
            "bearing_temp_c": self._bearing,
        }


class Motor(Equipment):
    """EM-75 four-pole induction motor, direct on line at 50 Hz, driving a varying load."""

    model = "EM-75"
    kind = "motor"
    metrics = ("speed_rpm", "motor_current_a", "vibration_rms_mm_s", "bearing_temp_c", "winding_temp_c")
    levels = (0.5, 1.0)
    SYNC_RPM = 1500.0
    RATED_RPM = 1480.0
    RATED_A = 130.0
    MAGNETISING_A = 45.0
    ACTIVE_A = math.sqrt(RATED_A**2 - MAGNETISING_A**2)
    LOCKED_ROTOR_A = 6 * RATED_A
    WINDING_RISE_C = 60.0  # 85 °C at rated load in a 25 °C room
    WINDING_TAU_S = 180.0
    BEARING_TAU_S = 300.0
    noise = {
        "speed_rpm": (0.3, 0.0),
        "motor_current_a": (0.4, 0.003),
        "vibration_rms_mm_s": (0.02, 0.02),
        "bearing_temp_c": (0.08, 0.0),
        "winding_temp_c": (0.12, 0.0),
    }
    cutoffs = {"speed_rpm": 5.0, "motor_current_a": 2.0}

    def _start(self, t_s: float) -> None:
        running = self.schedule.running(t_s)
        self._load = self.schedule.level(t_s) if running else 0.0
        self._rpm = self.SYNC_RPM - (self.SYNC_RPM - self.RATED_RPM) * self._load if running else 0.0
        ambient = self.schedule.ambient(t_s)
        amps = math.hypot(self.MAGNETISING_A, self.ACTIVE_A * self._load) if running else 0.0
        self._winding = ambient + self.WINDING_RISE_C * (amps / self.RATED_A) ** 2
        self._bearing = ambient + self._bearing_rise(self._rpm, self._load)
        self._excess = 0.0
        self._jitter = _Wander(0.015, 5.0)  # load torque fluctuation

    def _bearing_rise(self, rpm: float, load: float) -> float:
        return rpm / self.SYNC_RPM * (17.0 + 8.0 * load)

    def _physics(self, t_s, dt, severity, extra, tripped):
        wear, imbalance = severity.get("bearing_wear", 0.0), severity.get("imbalance", 0.0)
        overheating = severity.get("overheating", 0.0)
        running = self.schedule.running(t_s)
        self._load = _lag(self._load, self.schedule.level(t_s) if running else 0.0, dt, 3.0)
        turning = min(1.0, self._rpm / (0.9 * self.SYNC_RPM))
        load = self._load * (1 + self._jitter.step(dt, self._normal()))
        load += (0.03 * wear + 0.04 * overheating) * turning  # friction; slip of a hot rotor
        # Slip grows with load, and with rotor resistance as the machine warms.
        slip = (self.SYNC_RPM - self.RATED_RPM) * load * (1 + 0.004 * (self._winding - 85.0))
        target = self.SYNC_RPM - slip if running else 0.0
        self._rpm = _lag(self._rpm, target, dt, 0.8 if running else 8.0)
        amps = math.hypot(self.MAGNETISING_A, self.ACTIVE_A * load) if running else 0.0
        inrush = self.LOCKED_ROTOR_A * max(0.0, target - self._rpm) / self.SYNC_RPM if running else 0.0

        ambient = self.schedule.ambient(t_s)
        if tripped and self._excess:
            self._winding += self._excess  # the heat stays in the winding after the trip
            self._excess = 0.0
        heating = self.WINDING_RISE_C * (amps / self.RATED_A) ** 2
        self._winding = _lag(self._winding, ambient + heating, dt, self.WINDING_TAU_S)
        if not tripped:
            self._excess = overheating * (MODES["overheating"].limit - self._winding)
        heat = self._bearing_rise(self._rpm, load) + (25.0 * wear + 8.0 * overheating) * turning
        self._bearing = _lag(self._bearing, ambient + heat, dt, self.BEARING_TAU_S)

        spin = (self._rpm / self.RATED_RPM) ** 2
        healthy = 0.03 + spin * (1.42 + 0.35 * self._load)  # 1.8 mm/s at rated load
        vibration = (
            healthy
            + wear * (_VIBRATION_LIMIT - healthy) * turning * (1 + 0.05 * extra[1])
            + imbalance * (_VIBRATION_LIMIT - 1.8) * spin
        )
        return {
            "speed_rpm": self._rpm,
            "motor_current_a": amps + inrush,
            "vibration_rms_mm_s": vibration,
            "bearing_temp_c": self._bearing,
            "winding_temp_c": self._winding + self._excess,
        }


EQUIPMENT: dict[str, type[Equipment]] = {cls.model: cls for cls in (Pump, Motor)}


def equipment_type(name: str) -> type[Equipment]:
    """The class for a model code (``CP-200``) or kind (``pump``)."""
    for cls in EQUIPMENT.values():
        if name in (cls.model, cls.kind):
            return cls
    known = ", ".join(f"{c.model} ({c.kind})" for c in EQUIPMENT.values())
    raise ConfigRejected(f"unknown equipment {name!r}; known: {known}")


def generate(
    model: str,
    seconds: float,
    rate_hz: float = 1.0,
    *,
    fault: FaultSpec | str | None = None,
    seed: int | str = 0,
    operation: Operation = Operation(),
) -> Iterator[tuple[float, dict[str, float]]]:
    """``(t_s, metrics)`` of one unit every ``1 / rate_hz`` s from 0 to ``seconds`` inclusive, without a broker.

    ``fault`` is a :class:`FaultSpec` or its text (``pump-1:seal_leak@60+600``); its
    ground truth is ``failure_s``, after which the unit trips and stays stopped.
    Bad arguments raise here, before the first sample.
    """
    if not (rate_hz > 0 and math.isfinite(rate_hz) and seconds >= 0 and math.isfinite(seconds)):
        raise ConfigRejected(f"need a positive rate and a duration, got {rate_hz!r} Hz for {seconds!r} s")
    spec = parse_fault(fault) if isinstance(fault, str) else fault
    unit = equipment_type(model)(seed=seed, operation=operation, faults=(spec,) if spec else ())
    return _samples(unit, math.floor(seconds * rate_hz + 1e-9) + 1, rate_hz)


def _samples(unit: Equipment, count: int, rate_hz: float) -> Iterator[tuple[float, dict[str, float]]]:
    for k in range(count):
        t_s = k / rate_hz
        yield t_s, unit.step(t_s)
