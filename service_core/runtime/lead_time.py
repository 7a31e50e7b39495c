"""``fleetcare eval rul``: how early the condition monitor sees each simulated fault coming, and how well it says when.

A trial is one simulated asset (``simulators.equipment``, no broker, simulated time) of one model and
seed: healthy running with operating-point changes and duty cycles, then one fault from its onset to
the failure the simulator trips the unit at. Its samples go through a :class:`ConditionMonitor` in
gateway-sized batches until the first alert after the onset, or the failure.

Every trial of one model and seed has the same healthy part: the simulator keeps a unit running from
300 s before any fault's onset, and a fault changes no reading before it (its own noise is drawn from
a separate stream). So the monitor is fed that part once, checkpointed, and each trial restores the
checkpoint at the onset; the readings are compared on the way, so the shortcut cannot go unnoticed.
Alerts in the healthy part are false alerts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from maintenance.events import TimeToFailure
from maintenance.monitor import ConditionMonitor
from service_core.errors import FleetcareError
from simulators.equipment import EQUIPMENT, generate
from simulators.faults import MODES, FaultSpec
from telemetry.readings import Sample

HEALTHY_S = 2 * 3600.0  # before the onset: warm-up (120 samples), then the thermal lags and spreads settle
DURATIONS_S = (600.0, 3600.0, 6 * 3600.0)  # onset to failure
SEEDS = 5
BATCH = 50  # samples per call, as the gateway hands them over
ASSET = "unit-1"
EPOCH = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


class HistoryDiverged(FleetcareError):
    """A trial's healthy readings differ from the ones its shared checkpoint was learned from."""


@dataclass(frozen=True, slots=True)
class Trial:
    """One fault to run: ``mode`` on a ``model`` unit simulated from ``seed``, failing ``duration_s`` after onset."""

    model: str
    mode: str
    duration_s: float
    seed: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the monitor made of one trial; times in seconds from the start of the simulation."""

    trial: Trial
    onset_s: float
    failure_s: float
    alert_s: float | None = None  # the first alert after the onset, if raised before the failure
    named_mode: str | None = None
    estimate: TimeToFailure | None = None
    alerted_before: bool = False  # an alert from the healthy part was still open at the onset

    @property
    def detected(self) -> bool:
        return self.alert_s is not None

    @property
    def lead_s(self) -> float | None:
        """Failure time less alert time."""
        return None if self.alert_s is None else self.failure_s - self.alert_s

    @property
    def lead_fraction(self) -> float | None:
        """The lead time as a fraction of the fault's duration (1: seen at the onset)."""
        return None if self.lead_s is None else self.lead_s / self.trial.duration_s

    @property
    def mode_right(self) -> bool | None:
        return None if self.named_mode is None else self.named_mode == self.trial.mode

    @property
    def error_h(self) -> float | None:
        """Estimated less true remaining hours at the alert (positive: it promised too long)."""
        if self.estimate is None or self.lead_s is None:
            return None
        return self.estimate.hours - self.lead_s / 3600.0

    @property
    def relative_error(self) -> float | None:
        return None if self.error_h is None else self.error_h / (self.lead_s / 3600.0)

    @property
    def covered(self) -> bool | None:
        """Whether the true remaining time lies in the estimate's interval."""
        if self.estimate is None or self.lead_s is None:
            return None
        return self.estimate.low <= self.lead_s / 3600.0 <= self.estimate.high


@dataclass(frozen=True, slots=True)
class HealthyRun:
    """The healthy part shared by the trials of one model and seed, and the monitor's state after it."""

    model: str
    seed: int
    onset_s: float
    readings: tuple[dict[str, float], ...]
    state: bytes
    false_alerts: tuple[float, ...]  # when each was raised
    open_at_onset: bool


@dataclass(frozen=True, slots=True)
class Evaluation:
    outcomes: tuple[Outcome, ...]
    healthy: tuple[HealthyRun, ...]
    seeds: int
    durations_s: tuple[float, ...]
    healthy_s: float


def trials(seeds: int = SEEDS, durations_s: Sequence[float] = DURATIONS_S) -> list[Trial]:
    """Every mode the simulators know on every model it applies to, for each duration and seed."""
    return [
        Trial(model, mode.name, float(duration), seed)
        for model, cls in EQUIPMENT.items()
        for mode in MODES.values()
        if cls.kind in mode.kinds
        for duration in durations_s
        for seed in range(1, seeds + 1)
    ]


def evaluate(
    seeds: int = SEEDS, durations_s: Sequence[float] = DURATIONS_S, healthy_s: float = HEALTHY_S
) -> Evaluation:
    """Run every trial; the healthy part of each model and seed is run once."""
    if seeds < 1 or not durations_s or min(durations_s) <= 0 or healthy_s <= 0:
        raise ValueError("need at least one seed, positive durations and a positive healthy time")
    planned = trials(seeds, durations_s)
    healthy = {(t.model, t.seed): None for t in planned}
    for model, seed in healthy:
        first = next(t for t in planned if (t.model, t.seed) == (model, seed))
        healthy[model, seed] = run_healthy(first, healthy_s)
    outcomes = tuple(run_trial(t, healthy[t.model, t.seed]) for t in planned)
    return Evaluation(outcomes, tuple(healthy.values()), seeds, tuple(float(d) for d in durations_s), healthy_s)


def run_healthy(trial: Trial, onset_s: float) -> HealthyRun:
    """Feed a monitor the readings before the onset of ``trial``'s fault; its state and false alerts."""
    models = {ASSET: trial.model}
    monitor = ConditionMonitor()
    readings, false_alerts, open_at_onset = [], [], False
    for batch in _batches(_stream(trial, onset_s), until_s=onset_s):
        readings.extend(s.metrics for s in batch)
        result = monitor.process(batch, models)
        false_alerts += [_seconds(a.raised_at) for a in result.alerts]
        # an alert still open at the onset holds the fault's own alert back until it clears
        if result.alerts or result.cleared:
            open_at_onset = bool(result.alerts) and (
                not result.cleared or result.alerts[-1].raised_at > result.cleared[-1].cleared_at
            )
    return HealthyRun(
        trial.model, trial.seed, onset_s, tuple(readings), monitor.checkpoint(ASSET), tuple(false_alerts), open_at_onset
    )


def run_trial(trial: Trial, healthy: HealthyRun) -> Outcome:
    """Continue from the healthy part's checkpoint through the fault, up to the first alert or the failure."""
    onset_s = healthy.onset_s
    failure_s = onset_s + trial.duration_s
    monitor = ConditionMonitor()
    monitor.restore(ASSET, healthy.state)
    models = {ASSET: trial.model}
    stream = _stream(trial, onset_s)
    for k, expected in enumerate(healthy.readings):
        sample = next(stream)
        if sample.metrics != expected:
            raise HistoryDiverged(
                f"{trial.model} seed {trial.seed} {trial.mode}: reading {k} differs from the healthy run's"
            )
    outcome = Outcome(trial, onset_s, failure_s, alerted_before=healthy.open_at_onset)
    for batch in _batches(stream, until_s=failure_s, inclusive=True):
        alerts = monitor.process(batch, models).alerts
        if alerts:
            alert = alerts[0]
            return Outcome(
                trial, onset_s, failure_s, _seconds(alert.raised_at), alert.failure_mode, alert.time_to_failure,
                healthy.open_at_onset,
            )
    return outcome


def _stream(trial: Trial, onset_s: float) -> Iterator[Sample]:
    """The trial's samples at 1 Hz from the start of the simulation to its failure."""
    spec = FaultSpec(ASSET, trial.mode, onset_s, trial.duration_s)
    for seq, (t, metrics) in enumerate(generate(trial.model, spec.failure_s, seed=trial.seed, fault=spec)):
        yield Sample(ASSET, EPOCH + timedelta(seconds=t), metrics, seq)


def _batches(stream: Iterator[Sample], *, until_s: float, inclusive: bool = False) -> Iterator[list[Sample]]:
    """Batches of up to :data:`BATCH` samples, stopping before ``until_s`` (or after it, ``inclusive``)."""
    batch: list[Sample] = []
    for sample in stream:
        t = _seconds(sample.ts)
        if t > until_s or (t == until_s and not inclusive):
            break
        batch.append(sample)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _seconds(ts: datetime) -> float:
    return (ts - EPOCH).total_seconds()
