"""Condition monitoring of a fleet: every sample scored, alerts raised and cleared, asset by asset.

Pure and synchronous: the caller stores what comes out (see :mod:`maintenance.store`).
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import numpy as np

from maintenance.alerts import AlertDecision, State, Transition
from maintenance.detector import Assessment, ConditionDetector
from maintenance.equipment import DATASHEET, Limit, profile_for
from maintenance.errors import StateRejected, UnknownAsset
from maintenance.events import Alert, AlertCleared, Signal, TimeToFailure
from maintenance.failure_modes import PROVISIONAL, SHIFTED, Deviation, classify
from maintenance.forecast import time_to_failure

CHECKPOINT_VERSION = 4  # a checkpoint must also match the detector's layout: see _layout
LEVEL_SECONDS = 20.0  # a signal's level is its mean deviation over this long
TREND_SECONDS = 60.0  # its noise and its trend are judged over this long
MAX_SIGNALS = 3


@dataclass(frozen=True, slots=True)
class AssetScore:
    """The score of one sample; ``None`` when it was not assessed (unit stopped or starting up).

    ``state`` is the asset's alert state after the sample (quiet, deviating or recovering) and
    ``transition`` what the sample changed in it, if anything.
    """

    asset_id: str
    ts: datetime
    score: float | None
    state: State = State.QUIET
    transition: Transition | None = None


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """What one batch produced: a score for every sample, the alerts raised and those cleared."""

    scores: list[AssetScore] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    cleared: list[AlertCleared] = field(default_factory=list)


class _Observation(NamedTuple):
    t: float
    ts: datetime
    metrics: dict[str, float]
    assessment: Assessment | None


@dataclass
class _Watch:
    """Everything the monitor keeps about one asset; what a checkpoint holds."""

    model: str
    detector: ConditionDetector
    decision: AlertDecision
    recent: deque[_Observation]
    last_t: float | None = None
    pending_since: float | None = None  # the decision raised; the signature is still taking shape
    open_mode: str | None = None  # failure mode of the alert raised and not yet cleared
    metrics: tuple[str, ...] = ()  # the metrics the asset reported when its detector was built
    since: float | None = None  # when the first sample of this baseline was taken
    maintained_at: datetime | None = None  # the completed work this baseline was begun after


class ConditionMonitor:
    """Watches every asset it is shown samples of.

    ``limits`` are the datasheet limits per model (:func:`maintenance.store.load_limits`; by
    default the built-in ones). ``decision`` is the template of each asset's alert decision.
    The last ``window`` samples of an asset are attached to its alerts. The persistent deviations
    raise an alert before a fault's signature has fully formed, so an alert is held back for
    ``take_shape`` seconds before its failure mode is named; one whose signature is recognised only
    by what does not deviate (imbalance, unknown) for up to ``confirm`` seconds, so a lagging signal
    such as a bearing's temperature can show.
    """

    def __init__(
        self,
        limits: Mapping[str, Mapping[str, Limit]] | None = None,
        *,
        decision: AlertDecision | None = None,
        warm_up: int = 120,
        window: int = 120,
        confirm: float = 180.0,
        take_shape: float = 30.0,
    ) -> None:
        self.limits = DATASHEET if limits is None else limits
        self.decision = decision if decision is not None else AlertDecision()
        self.warm_up = warm_up
        self.window = window
        self.confirm = confirm
        self.take_shape = take_shape
        self._watches: dict[str, _Watch] = {}

    @property
    def assets(self) -> tuple[str, ...]:
        """The assets watched."""
        return tuple(self._watches)

    def process(self, samples: Sequence, models: Mapping[str, str]) -> MonitorResult:
        """Score ``samples`` (``telemetry.readings.Sample``) in order; ``models`` maps asset to model code.

        A sample no newer than the last one processed for its asset (a redelivery, or a batch
        replayed after a restore) is skipped.
        """
        result = MonitorResult()
        for sample in samples:
            watch = self._watch_for(sample, models.get(sample.asset_id) or "")
            t = sample.ts.timestamp()
            if watch.last_t is not None and t <= watch.last_t:
                continue
            watch.last_t = t
            if watch.since is None:
                watch.since = t
            decision = watch.decision
            assessment = watch.detector.assess_one(
                sample.metrics, t, learn=not decision.alarming
            )
            recent = watch.recent
            recent.append(_Observation(t, sample.ts, sample.metrics, assessment))
            # keep the alert's window, and long enough to judge a trend whatever the sampling rate
            while len(recent) > self.window and recent[0].t < t - TREND_SECONDS:
                recent.popleft()
            if assessment is None:
                # stopped or starting up: nothing is judged, the decision holds its state
                result.scores.append(AssetScore(sample.asset_id, sample.ts, None, decision.state))
                continue
            transition = decision.update(
                assessment.score, assessment.persistent, t, assessment.beyond_limits, assessment.doubtful
            )
            result.scores.append(AssetScore(sample.asset_id, sample.ts, assessment.score, decision.state, transition))
            if transition is Transition.RAISE:
                watch.pending_since = t
            elif transition is Transition.CLEAR:
                if watch.open_mode is not None:
                    result.cleared.append(AlertCleared(sample.asset_id, watch.open_mode, sample.ts))
                watch.open_mode = watch.pending_since = None
                # the episode is over and the asset runs on: where its signals settled is its new normal
                watch.detector.adopt_level()
            if watch.pending_since is not None:
                alert = self._confirm(sample.asset_id, watch, t)
                if alert is not None:
                    result.alerts.append(alert)
        return result

    def checkpoint(self, asset_id: str) -> bytes:
        """The asset's whole monitoring state, for :meth:`restore` in this or another process."""
        try:
            watch = self._watches[asset_id]
        except KeyError:
            raise UnknownAsset(asset_id) from None
        return pickle.dumps((CHECKPOINT_VERSION, watch), protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, asset_id: str, data: bytes) -> None:
        """Continue from a :meth:`checkpoint`. Only restore what this service wrote: it is a pickle."""
        try:
            version, watch = pickle.loads(data)
        except Exception as exc:
            raise StateRejected(f"unreadable checkpoint for {asset_id}: {exc}") from exc
        if version != CHECKPOINT_VERSION or not isinstance(watch, _Watch):
            raise StateRejected(f"checkpoint for {asset_id} has version {version!r}, expected {CHECKPOINT_VERSION}")
        # A version number is only as good as the discipline of bumping it: also check that the
        # state has the shape this code would build, so a stale checkpoint is refused, not run.
        fresh = dict(_layout(self._new_watch(watch.model, watch.metrics).detector))
        restored = dict(_layout(watch.detector))
        if any(restored.get(path) != kind for path, kind in fresh.items()):  # state made later is not compared
            raise StateRejected(f"checkpoint for {asset_id} was written by an incompatible detector")
        self._watches[asset_id] = watch

    def maintained(self, asset_id: str, at: datetime) -> bool:
        """Work on the asset was completed at ``at``: whether a baseline learned before then was forgotten.

        The asset is then learned afresh from its next samples, so the new normal a repair leaves is
        not alarmed on; a baseline begun after ``at`` is kept. An alert it had open is not cleared
        here: closing it is the caller's business.
        """
        watch = self._watches.get(asset_id)
        if watch is None or (watch.maintained_at is not None and watch.maintained_at >= at):
            return False
        if watch.since is not None and watch.since >= at.timestamp():
            watch.maintained_at = at  # begun after the work already
            return False
        fresh = self._new_watch(watch.model, watch.metrics)
        fresh.maintained_at = at
        self._watches[asset_id] = fresh
        return True

    def rebaseline(self, asset_id: str) -> None:
        """Forget what the asset looked like (after maintenance); it is learned afresh from its next samples.

        An alert it had open is not cleared here: closing it is the caller's decision.
        """
        self._watches.pop(asset_id, None)

    # -- internals -------------------------------------------------------------------------------

    def _watch_for(self, sample, model: str) -> _Watch:
        watch = self._watches.get(sample.asset_id)
        if watch is None or watch.model != model:
            # a new asset, or one re-provisioned as another model: its old baseline means nothing
            watch = self._new_watch(model, tuple(sample.metrics))
            self._watches[sample.asset_id] = watch
        return watch

    def _new_watch(self, model: str, metrics: tuple[str, ...]) -> _Watch:
        """A watch built from nothing for a model reporting ``metrics``."""
        return _Watch(model, self.detector_for(model, metrics), self.decision.clone(), deque(), metrics=metrics)

    def detector_for(self, model: str, metrics: tuple[str, ...]) -> ConditionDetector:
        """The detector, yet to learn anything, that a new asset of ``model`` reporting ``metrics`` is watched with."""
        profile = profile_for(model, metrics)
        limits = self.limits.get(model, {})
        return ConditionDetector(
            condition=profile.condition,
            thermal=profile.thermal or None,
            driver=profile.driver,
            nominal=profile.nominal,
            running_metric=profile.running_metric,
            running_min=profile.running_min,
            limits={metric: (limit.low, limit.high) for metric, limit in limits.items()},
            warm_up=self.warm_up,
        )

    def _confirm(self, asset_id: str, watch: _Watch, t: float) -> Alert | None:
        """The alert, once its signature is clear or the wait for one is over."""
        assessed = [o for o in watch.recent if o.assessment is not None]
        deviations = _signature(watch.detector.condition, [o for o in assessed if o.t > t - TREND_SECONDS], t)
        mode = classify(deviations)
        waited = t - watch.pending_since
        if waited < self.take_shape or (mode in PROVISIONAL and waited < self.confirm):
            return None
        watch.pending_since, watch.open_mode = None, mode
        signals, forecast = self._evidence(watch, deviations, assessed)
        return Alert(
            asset_id=asset_id,
            failure_mode=mode,
            raised_at=assessed[-1].ts,
            score=watch.decision.level,
            signals=signals,
            time_to_failure=forecast,
            window=tuple(
                {"ts": o.ts.isoformat(), "metrics": dict(o.metrics), "score": o.assessment and o.assessment.score}
                for o in list(watch.recent)[-self.window :]
            ),
        )

    def _evidence(
        self, watch: _Watch, deviations: Mapping[str, Deviation], assessed: list[_Observation]
    ) -> tuple[tuple[Signal, ...], TimeToFailure | None]:
        """The signals furthest off, and the soonest failure any of them is heading for."""
        condition = watch.detector.condition
        limits = self.limits.get(watch.model, {})
        ranked = sorted(range(len(condition)), key=lambda j: -abs(deviations[condition[j]].level))
        chosen = [j for j in ranked if abs(deviations[condition[j]].level) >= SHIFTED][:MAX_SIGNALS] or ranked[:1]
        signals, forecasts = [], []
        for j in chosen:
            metric = condition[j]
            deviation = deviations[metric].level
            rising = deviation > 0
            reading = next((o for o in reversed(assessed) if metric in o.metrics), None)
            if reading is None:
                continue
            healthy = reading.assessment.expected[j]
            limit = limits.get(metric)
            alarm = None if limit is None else (limit.high if rising else limit.low)
            signals.append(Signal(metric, reading.metrics[metric], healthy, deviation, alarm))
            level = None if limit is None else limit.failure_level(rising, healthy)
            if level is not None:
                forecasts.append(_forecast(metric, j, assessed, level, rising))
        forecasts = [f for f in forecasts if f is not None]
        return tuple(signals), min(forecasts, key=lambda f: f.hours, default=None)


def _signature(condition: tuple[str, ...], assessed: list[_Observation], t: float) -> dict[str, Deviation]:
    """How each signal has behaved over the recent samples: level, noise and trend of its deviation."""
    z = np.array([o.assessment.deviations for o in assessed])
    levels = z[[o.t > t - LEVEL_SECONDS for o in assessed]].mean(axis=0)
    steps = np.abs(np.diff(z, axis=0))
    # the median |difference| of successive unit-normal readings is 0.954: a healthy signal scores 1
    noise = np.median(steps, axis=0) / 0.954 if len(steps) else np.ones(len(condition))
    minutes = (np.array([o.t for o in assessed]) - t) / 60.0
    trend = np.polyfit(minutes, z, 1)[0] if len(assessed) >= 3 else np.zeros(len(condition))
    rows = zip(condition, levels, noise, trend, strict=True)
    return {m: Deviation(float(lv), float(nz), float(tr)) for m, lv, nz, tr in rows}


def _forecast(metric: str, j: int, assessed: list[_Observation], level: float, rising: bool) -> TimeToFailure | None:
    """Extrapolate the signal as it would read at the current operating point."""
    now = assessed[-1].assessment.expected[j]
    points = [(o.t, o.metrics[metric] - o.assessment.expected[j] + now) for o in assessed if metric in o.metrics]
    if not points:
        return None
    times, values = zip(*points, strict=False)
    return time_to_failure(metric, times, values, level, rising=rising)


def _layout(state: object) -> list[tuple[str, str]]:
    """The arrays a detector's state is made of, with their shapes, by where they sit in it."""
    found: list[tuple[str, str]] = []
    seen: set[int] = set()

    def walk(value: object, path: str) -> None:
        if isinstance(value, np.ndarray):
            found.append((path, f"{value.dtype}{value.shape}"))
        elif isinstance(value, list | tuple) and not isinstance(value, deque):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif type(value).__module__.startswith("maintenance.") and id(value) not in seen:
            seen.add(id(value))
            found.append((path, type(value).__qualname__))
            attrs = vars(value) if hasattr(value, "__dict__") else {}
            for name in sorted(attrs):
                walk(attrs[name], f"{path}.{name}")

    walk(state, "")
    return found
