"""``fleetcare bench detector``: how many readings the condition monitor scores per second of one core.

The fleet is simulated pumps (CP-200) and motors (EM-75) in steady operation (no stops, a new
operating point every two minutes or so) and assets of a model the monitor has no profile for,
sending eight metrics, which it watches on all of them without a driver. Every asset sends one sample
a second. All samples are generated first; the monitor then sees the first ``warm_up_s`` seconds
untimed (start-up settling, the detector's warm-up and its first minutes of learning) and the rest
timed, in batches of ``batch`` samples across the fleet, handed over as the gateway's detection stage
does: one ``ConditionMonitor.process`` call per asset's samples in the batch. A sample holds one reading per
metric (``telemetry.readings.Reading``): six for a pump, five for a motor, eight for the unknown model.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from maintenance.monitor import ConditionMonitor
from simulators.equipment import generate
from simulators.operation import Operation
from telemetry.readings import Sample

TARGET_READINGS_PER_S = 20_000  # per core
UNKNOWN_MODEL = "XC-8"  # a screw compressor: no profile in maintenance.equipment
UNKNOWN_METRICS = {  # metric: (healthy level, measurement noise σ)
    "discharge_pressure_bar": (8.0, 0.03),
    "suction_pressure_bar": (1.0, 0.01),
    "oil_pressure_bar": (3.5, 0.02),
    "oil_temp_c": (70.0, 0.2),
    "discharge_temp_c": (85.0, 0.3),
    "motor_current_a": (95.0, 0.5),
    "vibration_rms_mm_s": (2.2, 0.05),
    "bearing_temp_c": (60.0, 0.15),
}
STEADY = Operation(change_every_s=120.0, duty_cycles=False)
FLEET_MIX = ("CP-200", "CP-200", "EM-75", "EM-75", UNKNOWN_MODEL)  # dealt round the assets
WARM_UP_S = 600.0
BATCH = 500
EPOCH = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Workload:
    """Samples of a fleet, in time order across assets, cut into batches; the warm-up ones apart."""

    models: dict[str, str]
    warm_up: tuple[tuple[Sample, ...], ...]
    timed: tuple[tuple[Sample, ...], ...]


@dataclass(frozen=True, slots=True)
class ModelFigures:
    """The timed scoring of one model's assets."""

    model: str
    assets: int
    samples: int
    readings: int
    cpu_s: float
    wall_s: float
    state_bytes_max: int  # the largest checkpoint (pickled state) of one of its assets
    state_bytes_mean: float

    @property
    def readings_per_cpu_s(self) -> float:
        return self.readings / self.cpu_s if self.cpu_s > 0 else math.inf

    @property
    def readings_per_wall_s(self) -> float:
        return self.readings / self.wall_s if self.wall_s > 0 else math.inf

    @property
    def samples_per_cpu_s(self) -> float:
        return self.samples / self.cpu_s if self.cpu_s > 0 else math.inf

    @property
    def us_per_reading(self) -> float:
        return 1e6 * self.cpu_s / self.readings if self.readings else math.nan

    @property
    def us_per_sample(self) -> float:
        return 1e6 * self.cpu_s / self.samples if self.samples else math.nan


@dataclass(frozen=True, slots=True)
class BenchResult:
    per_model: tuple[ModelFigures, ...]
    batches: int
    batch: int
    alerts: int  # raised, warm-up included: a healthy fleet should raise none, and an alarming asset learns nothing

    @property
    def total(self) -> ModelFigures:
        """The whole fleet as one model (``all``)."""
        ms = self.per_model
        states = sum(m.state_bytes_mean * m.assets for m in ms)
        assets = sum(m.assets for m in ms)
        return ModelFigures(
            "all", assets, sum(m.samples for m in ms), sum(m.readings for m in ms), sum(m.cpu_s for m in ms),
            sum(m.wall_s for m in ms), max(m.state_bytes_max for m in ms), states / assets if assets else 0.0,
        )


def fleet(assets: int) -> dict[str, str]:
    """Asset id to model: two pumps, two motors and one unknown model in every five assets."""
    return {f"asset-{i + 1:04d}": FLEET_MIX[i % len(FLEET_MIX)] for i in range(assets)}


def workload(
    *, assets: int = 50, seconds: float = 900.0, warm_up_s: float = WARM_UP_S, batch: int = BATCH, seed: int = 1
) -> Workload:
    """Generate every sample of the fleet, 1 Hz for ``warm_up_s + seconds``; nothing is scored yet."""
    if assets < 1 or seconds <= 0 or warm_up_s < 0 or batch < 1:
        raise ValueError("need assets, a positive duration and batch size, and a warm-up of 0 s or more")
    models = fleet(assets)
    end = warm_up_s + seconds
    series = [_readings(model, end, f"{seed}:{asset}") for asset, model in models.items()]
    warm, timed = [], []
    for k in range(min(len(s) for s in series)):
        at = EPOCH + timedelta(seconds=float(k))
        for asset, readings in zip(models, series, strict=True):
            (warm if k < warm_up_s else timed).append(Sample(asset, at, readings[k], k))
    return Workload(models, _cut(warm, batch), _cut(timed, batch))


def run(work: Workload) -> BenchResult:
    """Score the workload with one monitor in this process; only the timed part's ``process`` calls are timed."""
    monitor = ConditionMonitor()
    alerts = 0
    for batch in work.warm_up:
        for own in _by_asset(batch).values():
            alerts += len(monitor.process(own, work.models).alerts)
    cpu: dict[str, float] = defaultdict(float)
    wall: dict[str, float] = defaultdict(float)
    samples: dict[str, int] = defaultdict(int)
    readings: dict[str, int] = defaultdict(int)
    state: dict[str, int] = defaultdict(int)
    checkpoints = {len(work.timed) // 2, len(work.timed) - 1}  # the state stops growing once the window is full
    for n, batch in enumerate(work.timed):
        for asset, own in _by_asset(batch).items():
            model = work.models[asset]
            c0, w0 = time.process_time(), time.perf_counter()
            result = monitor.process(own, work.models)
            wall[model] += time.perf_counter() - w0
            cpu[model] += time.process_time() - c0
            samples[model] += len(own)
            readings[model] += sum(len(s.metrics) for s in own)
            alerts += len(result.alerts)
            if n in checkpoints:
                state[asset] = max(state[asset], len(monitor.checkpoint(asset)))
    per_model = []
    for model in dict.fromkeys(work.models.values()):
        sizes = [state[a] for a, m in work.models.items() if m == model and a in state]
        per_model.append(ModelFigures(
            model, sum(m == model for m in work.models.values()), samples[model], readings[model], cpu[model],
            wall[model], max(sizes, default=0), sum(sizes) / len(sizes) if sizes else 0.0,
        ))
    return BenchResult(tuple(per_model), len(work.timed), max((len(b) for b in work.timed), default=0), alerts)


def report(result: BenchResult) -> str:
    """The table per model, the fleet's total and whether the target is met."""
    total = result.total
    lines = [
        f"detector benchmark: {total.assets} assets, {total.samples} samples ({total.readings} readings) timed in "
        f"{result.batches} batches of {result.batch}, one process",
        f"{'model':<7} {'assets':>6} {'samples':>8} {'readings':>9} {'readings/s cpu':>14} {'readings/s wall':>15} "
        f"{'samples/s cpu':>13} {'us/reading':>10} {'us/sample':>9} {'state max':>10} {'state mean':>10}",
    ]
    for m in (*result.per_model, total):
        lines.append(
            f"{m.model:<7} {m.assets:>6} {m.samples:>8} {m.readings:>9} {m.readings_per_cpu_s:>14,.0f} "
            f"{m.readings_per_wall_s:>15,.0f} {m.samples_per_cpu_s:>13,.0f} {m.us_per_reading:>10.1f} "
            f"{m.us_per_sample:>9.1f} {_kib(m.state_bytes_max):>10} {_kib(m.state_bytes_mean):>10}"
        )
    slowest = min(result.per_model, key=lambda m: m.readings_per_cpu_s)
    met = total.readings_per_cpu_s >= TARGET_READINGS_PER_S and slowest.readings_per_cpu_s >= TARGET_READINGS_PER_S
    lines += [
        f"alerts raised (healthy fleet; warm-up included): {result.alerts}",
        f"target >= {TARGET_READINGS_PER_S:,} readings/s per core (CPU time): {'met' if met else 'NOT met'} "
        f"(fleet {total.readings_per_cpu_s:,.0f}, slowest model {slowest.model} {slowest.readings_per_cpu_s:,.0f}); "
        f"counted in samples (all metrics of one instant) the fleet scores {total.samples_per_cpu_s:,.0f}/s, "
        f"{'at or above' if total.samples_per_cpu_s >= TARGET_READINGS_PER_S else 'below'} that figure",
    ]
    return "\n".join(lines)


def _readings(model: str, seconds: float, seed: str) -> list[dict[str, float]]:
    if model == UNKNOWN_MODEL:
        return _unknown_readings(seconds, seed)
    return [metrics for _, metrics in generate(model, seconds, seed=seed, operation=STEADY)]


def _unknown_readings(seconds: float, seed: str) -> list[dict[str, float]]:
    """An asset of unknown model at a steady duty: each metric wanders slowly about its level, with noise."""
    rng = random.Random(seed)
    wander = dict.fromkeys(UNKNOWN_METRICS, 0.0)
    keep = math.exp(-1.0 / 1800.0)  # half an hour's memory: slow, as the room and the load drift
    out = []
    for _ in range(math.floor(seconds) + 1):
        sample = {}
        for name, (level, noise) in UNKNOWN_METRICS.items():
            wander[name] = wander[name] * keep + 0.5 * noise * math.sqrt(1 - keep * keep) * rng.gauss(0, 1)
            sample[name] = round(level + wander[name] + rng.gauss(0, noise), 3)
        out.append(sample)
    return out


def _cut(samples: Sequence[Sample], size: int) -> tuple[tuple[Sample, ...], ...]:
    return tuple(tuple(samples[i : i + size]) for i in range(0, len(samples), size))


def _by_asset(batch: Sequence[Sample]) -> dict[str, list[Sample]]:
    grouped: dict[str, list[Sample]] = defaultdict(list)
    for sample in batch:
        grouped[sample.asset_id].append(sample)
    return grouped


def _kib(size: float) -> str:
    return f"{size / 1024:.1f} KiB"
