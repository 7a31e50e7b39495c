"""How soon a degrading signal reaches the level where the asset fails."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from maintenance.events import TimeToFailure

Z_90 = 1.6449  # two-sided 90 % normal quantile
MIN_READINGS = 10


def time_to_failure(
    metric: str, times: Sequence[float], values: Sequence[float], failure_level: float, *, rising: bool
) -> TimeToFailure | None:
    """Extrapolate the recent trend of ``values`` (at ``times``, seconds) to ``failure_level``.

    Only the readings since the drift began count (found by fitting a flat stretch followed by
    a straight rise, and trying every reading as the bend): readings from before it would
    flatten the trend and promise time there is not. The trend is the Theil–Sen slope (median
    of pairwise slopes, indifferent to a few wild readings) with Sen's 90 % interval; the
    interval of the slope gives the interval of the estimate. Wear tends to accelerate, which a
    straight line cannot see coming: when a parabola fits the same readings with the drift
    speeding up, the time it gives bounds the interval from below. ``None`` when the trend
    towards the level is not significant.

    >>> ts = [float(t) for t in range(60)]
    >>> ttf = time_to_failure("vibration", ts, [2.0 + 0.01 * t for t in ts], 11.0, rising=True)
    >>> round(ttf.hours * 3600)
    841
    >>> time_to_failure("vibration", ts, [2.0] * 60, 11.0, rising=True) is None
    True
    """
    t = np.asarray(times, dtype=float)
    y = np.asarray(values, dtype=float)
    if len(t) < MIN_READINGS:
        return None
    start = _drift_start(t, y)
    t, y = t[start:], y[start:]
    n = len(t)
    sign = 1.0 if rising else -1.0
    i, j = np.triu_indices(n, k=1)
    dt = t[j] - t[i]
    slopes = np.sort(sign * (y[j] - y[i])[dt > 0] / dt[dt > 0])
    if len(slopes) < MIN_READINGS:
        return None
    slope = float(np.median(slopes))
    # Sen's interval: ranks of the pairwise slopes around the median, from Kendall's S variance
    half = Z_90 * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0) / 2.0
    low_slope = float(slopes[max(0, int(math.floor(len(slopes) / 2 - half)))])
    high_slope = float(slopes[min(len(slopes) - 1, int(math.ceil(len(slopes) / 2 + half)))])
    if low_slope <= 0.0:
        return None
    now = float(np.median(sign * y - slope * t)) + slope * t[-1]  # the trend line at the last reading
    margin = max(0.0, sign * failure_level - now)
    low = min(margin / high_slope, _accelerating(t - t[-1], sign * y, sign * failure_level))
    hours, high = margin / slope, margin / low_slope
    return TimeToFailure(hours=float(hours / 3600), low=float(low / 3600), high=float(high / 3600), metric=metric)


def _drift_start(t: np.ndarray, y: np.ndarray) -> int:
    """Index of the bend that best splits the readings into a flat stretch and a straight drift."""
    candidates = np.arange(len(t) - MIN_READINGS + 1)
    ramps = np.maximum(0.0, t[None, :] - t[candidates][:, None])  # one hinge per candidate bend
    x = ramps - ramps.mean(axis=1, keepdims=True)
    dy = y - y.mean()
    sxx = (x * x).sum(axis=1)
    sxy = (x * dy).sum(axis=1)
    # residual sum of squares of y = a + b·ramp, up to a constant shared by every candidate
    explained = np.divide(sxy * sxy, sxx, out=np.zeros_like(sxx), where=sxx > 0)
    return int(candidates[np.argmax(explained)])


def _accelerating(t: np.ndarray, y: np.ndarray, level: float) -> float:
    """Seconds until a parabola through the readings reaches ``level`` (infinite unless it bends towards it)."""
    c, b, a = np.polyfit(t, y, 2)
    if c <= 0.0:
        return math.inf
    if a >= level:
        return 0.0
    return float((-b + math.sqrt(b * b + 4.0 * c * (level - a))) / (2.0 * c))
