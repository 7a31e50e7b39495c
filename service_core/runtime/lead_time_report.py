"""The figures of ``fleetcare eval rul`` per model, mode and fault duration, per duration and in all; text or JSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from statistics import median

from service_core.runtime.lead_time import Evaluation, Outcome


@dataclass(frozen=True, slots=True)
class Figures:
    """How a group of trials went. Lead times count the detected trials, errors those with an estimate."""

    trials: int
    detected: int
    mode_right: int
    estimates: int
    covered: int
    median_alert_after_onset_s: float | None
    median_lead_s: float | None
    median_lead_fraction: float | None
    median_error_h: float | None
    median_abs_relative_error: float | None

    @property
    def detection_rate(self) -> float:
        return self.detected / self.trials if self.trials else 0.0

    @property
    def mode_accuracy(self) -> float | None:
        return self.mode_right / self.detected if self.detected else None

    @property
    def coverage(self) -> float | None:
        return self.covered / self.estimates if self.estimates else None

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "detection_rate": self.detection_rate,
            "mode_accuracy": self.mode_accuracy,
            "coverage": self.coverage,
        }


def figures(outcomes: Iterable[Outcome]) -> Figures:
    """The figures of a group of trials."""
    outcomes = list(outcomes)
    detected = [o for o in outcomes if o.detected]
    estimated = [o for o in detected if o.error_h is not None]
    return Figures(
        trials=len(outcomes),
        detected=len(detected),
        mode_right=sum(bool(o.mode_right) for o in detected),
        estimates=len(estimated),
        covered=sum(bool(o.covered) for o in estimated),
        median_alert_after_onset_s=_median(o.alert_s - o.onset_s for o in detected),
        median_lead_s=_median(o.lead_s for o in detected),
        median_lead_fraction=_median(o.lead_fraction for o in detected),
        median_error_h=_median(o.error_h for o in estimated),
        median_abs_relative_error=_median(abs(o.relative_error) for o in estimated),
    )


def false_alerts(evaluation: Evaluation) -> tuple[int, float]:
    """False alerts in the healthy parts, and the asset-hours of healthy running they came from."""
    count = sum(len(h.false_alerts) for h in evaluation.healthy)
    return count, sum(h.onset_s for h in evaluation.healthy) / 3600.0


def report(evaluation: Evaluation, *, elapsed_s: float | None = None) -> str:
    """The table per model, mode and duration, then the summary per duration and in all."""
    outcomes = evaluation.outcomes
    lines = [
        f"time to failure on the simulators: {evaluation.seeds} seed(s), {evaluation.healthy_s / 3600:g} h healthy "
        f"before each fault, faults of {', '.join(_duration(d) for d in evaluation.durations_s)} (onset to failure)",
        "",
        f"{'model':<7} {'mode':<13} {'fault':>5} {'detected':>8} {'mode ok':>7} {'after onset':>11} "
        f"{'lead':>8} {'lead/dur':>8} {'est-true':>9} {'|rel err|':>9} {'in interval':>11}",
    ]
    for key in _keys(outcomes):
        group = [o for o in outcomes if (o.trial.model, o.trial.mode, o.trial.duration_s) == key]
        lines.append(_row(f"{key[0]:<7} {key[1]:<13} {_duration(key[2]):>5}", figures(group)))
    lines += ["", "per fault duration:"]
    for duration in evaluation.durations_s:
        group = [o for o in outcomes if o.trial.duration_s == duration]
        lines.append(_row(f"{'':<7} {'all':<13} {_duration(duration):>5}", figures(group)))
    total = figures(outcomes)
    count, hours = false_alerts(evaluation)
    lines += [
        _row(f"{'all':<7} {'all':<13} {'all':>5}", total),
        "",
        "summary",
        f"  detection rate (alert before failure)     {_share(total.detected, total.trials)}",
        f"  median lead time                          {_minutes(total.median_lead_s)}, "
        f"{_fraction(total.median_lead_fraction)} of the fault's duration",
        f"  median |relative error| of the estimate   {_fraction(total.median_abs_relative_error)} "
        f"(median estimate - truth {_hours(total.median_error_h)})",
        f"  truth within the estimate's interval      {_share(total.covered, total.estimates)} of the estimates; "
        f"{total.detected - total.estimates} alert(s) without an estimate",
        f"  failure mode named right                  {_share(total.mode_right, total.detected)} of the alerts",
        f"  false alerts in the healthy parts         {count} in {hours:g} asset-hours",
    ]
    if elapsed_s is not None:
        lines.append(f"  took {elapsed_s:.1f} s of wall-clock time")
    return "\n".join(lines)


def as_json(evaluation: Evaluation, *, elapsed_s: float | None = None) -> dict:
    """Everything the report shows, and every trial."""
    outcomes = evaluation.outcomes
    count, hours = false_alerts(evaluation)
    return {
        "seeds": evaluation.seeds,
        "healthy_s": evaluation.healthy_s,
        "durations_s": list(evaluation.durations_s),
        "elapsed_s": elapsed_s,
        "summary": {**figures(outcomes).as_dict(), "false_alerts": count, "healthy_asset_hours": hours},
        "by_duration": [
            {"duration_s": d, **figures(o for o in outcomes if o.trial.duration_s == d).as_dict()}
            for d in evaluation.durations_s
        ],
        "by_mode": [
            {
                "model": model,
                "mode": mode,
                "duration_s": duration,
                **figures(o for o in outcomes if (o.trial.model, o.trial.mode, o.trial.duration_s) == (
                    model, mode, duration)).as_dict(),
            }
            for model, mode, duration in _keys(outcomes)
        ],
        "false_alerts": [
            {"model": h.model, "seed": h.seed, "raised_at_s": list(h.false_alerts)} for h in evaluation.healthy
        ],
        "trials": [_trial(o) for o in outcomes],
    }


def _trial(o: Outcome) -> dict:
    estimate = o.estimate
    return {
        "model": o.trial.model,
        "mode": o.trial.mode,
        "duration_s": o.trial.duration_s,
        "seed": o.trial.seed,
        "onset_s": o.onset_s,
        "failure_s": o.failure_s,
        "detected": o.detected,
        "alert_s": o.alert_s,
        "named_mode": o.named_mode,
        "lead_s": o.lead_s,
        "lead_fraction": o.lead_fraction,
        "estimate": None if estimate is None else {
            "hours": estimate.hours, "low": estimate.low, "high": estimate.high, "metric": estimate.metric,
        },
        "true_remaining_h": None if o.lead_s is None else o.lead_s / 3600.0,
        "error_h": o.error_h,
        "relative_error": o.relative_error,
        "covered": o.covered,
        "alert_open_at_onset": o.alerted_before,
    }


def _keys(outcomes: Sequence[Outcome]) -> list[tuple[str, str, float]]:
    return list(dict.fromkeys((o.trial.model, o.trial.mode, o.trial.duration_s) for o in outcomes))


def _row(label: str, f: Figures) -> str:
    return (
        f"{label} {f.detected:>3}/{f.trials:<4} {_ratio(f.mode_right, f.detected):>7} "
        f"{_minutes(f.median_alert_after_onset_s):>11} {_minutes(f.median_lead_s):>8} "
        f"{_fraction(f.median_lead_fraction):>8} {_hours(f.median_error_h):>9} "
        f"{_fraction(f.median_abs_relative_error):>9} {_ratio(f.covered, f.estimates):>11}"
    )


def _median(values: Iterable[float]) -> float | None:
    values = list(values)
    return float(median(values)) if values else None


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:g}h" if seconds >= 3600 else f"{seconds / 60:g}m"


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def _hours(hours: float | None) -> str:
    return "-" if hours is None else f"{hours:+.2f} h"


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(part: int, whole: int) -> str:
    return f"{part}/{whole}" if whole else "-"


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "-"
