"""How well a detector finds the anomalies and changepoints of labelled runs, scored as SKAB scores them.

A run ("series", one benchmark file) has a time for each row in seconds (floats; convert
``datetime64`` stamps before building a :class:`Series`), the true anomaly and changepoint
labels and the detector's, 0 or 1 per row. Runs are pooled, as the benchmark pools its files:

* outlier detection is scored row by row over every row of every run (F1, false and missed
  alarm rates);
* changepoint detection is scored with the NAB metric as the benchmark's reference
  implementation computes it: each true changepoint opens a detection window of ``window_s``
  seconds after it, the first detection in a window earns between ``A_tp`` (at the changepoint)
  and ``A_fp`` (at the window's end) along a tanh curve, a window without a detection costs
  ``A_fn`` and a detection outside every window costs ``A_fp``; the sums over all runs are
  scaled so that a perfect detector scores 100 and one that detects nothing scores 0.

A score that is undefined (a rate whose denominator is zero, a NAB score without a single
true changepoint, a mean delay without a single detected changepoint) is ``nan``, and ``None``
in :meth:`Scores.as_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from maintenance.errors import MaintenanceError

WINDOW_S = 60.0
# points on the scoring curve: a detection's place in its window is rounded down to one of them
CURVE_POINTS = 1000


class SeriesRejected(MaintenanceError, ValueError):
    """A run whose columns cannot be scored: unequal lengths, labels other than 0 and 1, or bad times."""


@dataclass(frozen=True)
class Profile:
    """The weights of one NAB application profile: a timely detection, a false alarm, a miss."""

    name: str
    a_tp: float
    a_fp: float
    a_fn: float

    def curve(self) -> np.ndarray:
        """The score of a detection at each of the ``CURVE_POINTS`` places of its window, ``a_tp`` to ``a_fp``."""
        x = np.linspace(-np.pi / 2, np.pi / 2, CURVE_POINTS)
        half = (self.a_tp - self.a_fp) / 2
        # the reference's "improved" scaled tanh, in its order of operations so rounding matches
        return half * -np.tanh(x) / np.tanh(np.pi / 2) + half + self.a_fp


STANDARD = Profile("standard", a_tp=1.0, a_fp=-0.11, a_fn=-1.0)
LOW_FP = Profile("low_fp", a_tp=1.0, a_fp=-0.22, a_fn=-1.0)
LOW_FN = Profile("low_fn", a_tp=1.0, a_fp=-0.11, a_fn=-2.0)
PROFILES = (STANDARD, LOW_FP, LOW_FN)


# eq=False: the fields are arrays, which do not compare to a single truth value
@dataclass(frozen=True, eq=False)
class Series:
    """One labelled run: times in seconds (strictly increasing) and four 0/1 columns of equal length.

    The columns are stored as read-only numpy arrays (times as floats, labels as booleans).

    >>> Series("valve1/0", [0.0, 1.0], [0, 1], [0, 1], [0, 2], [0, 1])
    Traceback (most recent call last):
    ...
    maintenance.evaluation.metrics.SeriesRejected: series 'valve1/0': predicted holds values other than 0 and 1 (2)
    """

    name: str
    t: npt.ArrayLike
    anomaly: npt.ArrayLike
    changepoint: npt.ArrayLike
    predicted: npt.ArrayLike
    predicted_changepoint: npt.ArrayLike

    def __post_init__(self) -> None:
        t = _column(self.name, "t", self.t)
        if t.dtype.kind in "mM":
            raise SeriesRejected(f"series {self.name!r}: t must be seconds as floats, not {t.dtype} stamps")
        if t.dtype.kind not in "biuf":
            raise SeriesRejected(f"series {self.name!r}: t must be seconds as floats, not {t.dtype}")
        t = t.astype(float)
        if not np.isfinite(t).all():
            raise SeriesRejected(f"series {self.name!r}: t holds a value that is not a finite number")
        steps = np.diff(t)
        if (steps <= 0).any():
            row = int(np.argmax(steps <= 0)) + 1
            raise SeriesRejected(
                f"series {self.name!r}: t must increase strictly, row {row} ({t[row]}) follows {t[row - 1]}"
            )
        _freeze(self, "t", t)
        for field in ("anomaly", "changepoint", "predicted", "predicted_changepoint"):
            labels = _column(self.name, field, getattr(self, field))
            if len(labels) != len(t):
                raise SeriesRejected(f"series {self.name!r}: {field} has {len(labels)} rows, t has {len(t)}")
            if labels.dtype.kind not in "biuf":
                raise SeriesRejected(f"series {self.name!r}: {field} must be 0/1 labels, not {labels.dtype}")
            stray = labels[(labels != 0) & (labels != 1)]  # nan is caught here too
            if len(stray):
                raise SeriesRejected(f"series {self.name!r}: {field} holds values other than 0 and 1 ({stray[0]})")
            _freeze(self, field, labels == 1)


@dataclass(frozen=True)
class Scores:
    """A detector's scores pooled over runs.

    ``far`` and ``mar`` are percentages. F1, FAR and MAR are not rounded (the reference returns
    them rounded to two decimals: round them so to compare with its tables); the NAB scores are
    rounded to two decimals, as the reference computes them. ``mean_delay_s`` is the mean, over
    the detected changepoints, of the time from the start of the window (which a cut may have
    moved past its changepoint) to the first detection in it.
    """

    f1: float
    far: float
    mar: float
    tp: int
    fp: int
    fn: int
    tn: int
    nab_standard: float
    nab_low_fp: float
    nab_low_fn: float
    changepoints: int
    missed: int
    false_positives: int
    mean_delay_s: float

    def as_dict(self) -> dict[str, float | int | None]:
        """The scores as plain JSON values, an undefined score (``nan``) as ``None``."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(self).items()}


def changepoints_from_labels(labels: npt.ArrayLike) -> np.ndarray:
    """Changepoints where a 0/1 label sequence changes, as the SKAB baselines derive them from predicted outliers.

    A row is a changepoint when its label differs from the row before; the first row is one when
    its label is 1.

    >>> changepoints_from_labels([0, 1, 1, 0, 0, 1]).tolist()
    [0, 1, 0, 1, 0, 1]
    >>> changepoints_from_labels([1, 1, 0]).tolist()
    [1, 0, 1]
    """
    labels = np.asarray(labels).ravel() == 1
    return (np.diff(labels.astype(np.int8), prepend=np.int8(0)) != 0).astype(np.int8)


def detection_windows(t: npt.ArrayLike, changepoint: npt.ArrayLike, window_s: float = WINDOW_S) -> np.ndarray:
    """The detection windows ``[start, end]`` (one row each) of a run's true changepoints.

    Each window runs from its changepoint to ``window_s`` seconds after it. When a window reaches
    the next one (its end at or past the next start), the next window starts where this one
    ends and this one keeps its end ("cut right window").

    >>> detection_windows([0.0, 100.0, 130.0, 300.0], [0, 1, 1, 1]).tolist()
    [[100.0, 160.0], [160.0, 190.0], [300.0, 360.0]]
    """
    t = np.asarray(t, dtype=float)
    starts = t[np.asarray(changepoint) == 1]
    ends = starts + window_s
    # the rule applied window after window only ever moves a start, never an end, so each start
    # is compared with the unmoved end before it and the whole pass is one maximum
    starts[1:] = np.maximum(starts[1:], ends[:-1])
    return np.column_stack([starts, ends])


def evaluate(series: Iterable[Series], *, window_s: float = WINDOW_S) -> Scores:
    """Score a detector on labelled runs, pooled, with changepoint windows ``window_s`` seconds long.

    Raises ``ValueError`` when ``window_s`` is not a positive number of seconds.

    >>> t = np.arange(300.0)
    >>> anomaly = (t >= 100) & (t < 200)
    >>> predicted = (t >= 110) & (t < 200)  # late by 10 s, then a false changepoint when it ends
    >>> run = Series("valve1/0", t, anomaly, t == 100, predicted, changepoints_from_labels(predicted))
    >>> scores = evaluate([run])
    >>> round(scores.f1, 3), scores.far, scores.mar
    (0.947, 0.0, 10.0)
    >>> scores.nab_standard, scores.nab_low_fp, scores.nab_low_fn
    (90.39, 84.48, 93.59)
    >>> scores.changepoints, scores.missed, scores.false_positives, scores.mean_delay_s
    (1, 0, 1, 10.0)
    """
    if not (window_s > 0 and math.isfinite(window_s)):
        raise ValueError(f"window_s must be a positive number of seconds, not {window_s!r}")
    tp = fp = fn = tn = 0
    n_windows = n_missed = n_false = 0
    delays: list[np.ndarray] = []
    curves = [profile.curve() for profile in PROFILES]
    # per profile: the achieved, null and perfect scores, summed over runs
    totals = np.zeros((3, len(PROFILES)))
    for run in series:
        truth, guess = run.anomaly, run.predicted
        tp += int(np.count_nonzero(truth & guess))
        fp += int(np.count_nonzero(~truth & guess))
        fn += int(np.count_nonzero(truth & ~guess))
        tn += int(np.count_nonzero(~truth & ~guess))

        windows = detection_windows(run.t, run.changepoint, window_s)
        starts, ends = windows[:, 0], windows[:, 1]
        detections = run.t[run.predicted_changepoint]  # sorted, as the times increase
        first = np.searchsorted(detections, starts, side="left")
        hit = first < len(detections)
        hit[hit] = detections[first[hit]] <= ends[hit]
        # a detection is false when no window holds it: the last window starting at or before
        # it is the only one that can (windows may touch but never overlap further)
        last = np.searchsorted(starts, detections, side="right") - 1
        held = last >= 0
        held[held] = detections[held] <= ends[last[held]]
        n_fp = int(np.count_nonzero(~held))
        n_fn = int(np.count_nonzero(~hit))
        # the delay is measured from the window's start, which the cut may have moved past its
        # changepoint: the reference does so, and so do we
        delay = detections[first[hit]] - starts[hit]
        delays.append(delay)
        place = (delay / (ends[hit] - starts[hit]) * CURVE_POINTS).astype(np.int64)
        place = np.minimum(place, CURVE_POINTS - 1)

        for k, (profile, curve) in enumerate(zip(PROFILES, curves, strict=True)):
            achieved = profile.a_fp * n_fp
            achieved += profile.a_fn * n_fn
            for score in curve[place]:  # one at a time, in window order, as the reference adds them
                achieved += float(score)
            totals[:, k] += (achieved, len(windows) * profile.a_fn, len(windows) * profile.a_tp)

        n_windows += len(windows)
        n_missed += n_fn
        n_false += n_fp

    nab = [math.nan] * len(PROFILES)
    if n_windows:
        achieved, null, perfect = totals
        # numpy's rounding, as the reference rounds numpy floats (Python's round differs at ties)
        nab = [float(v) for v in np.round(100 * (achieved - null) / (perfect - null), 2)]
    all_delays = np.concatenate(delays) if delays else np.empty(0)
    return Scores(
        f1=tp / (tp + (fp + fn) / 2) if tp + fp + fn else math.nan,
        far=fp / (fp + tn) * 100 if fp + tn else math.nan,
        mar=fn / (fn + tp) * 100 if fn + tp else math.nan,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        nab_standard=nab[0],
        nab_low_fp=nab[1],
        nab_low_fn=nab[2],
        changepoints=n_windows,
        missed=n_missed,
        false_positives=n_false,
        mean_delay_s=float(np.mean(all_delays)) if len(all_delays) else math.nan,
    )


def _column(name: str, field: str, values: npt.ArrayLike) -> np.ndarray:
    column = np.asarray(values)
    if column.ndim != 1:
        raise SeriesRejected(f"series {name!r}: {field} must be one value per row, got shape {column.shape}")
    return column


def _freeze(series: Series, field: str, column: np.ndarray) -> None:
    column.flags.writeable = False
    object.__setattr__(series, field, column)
