"""Demand forecast of a part: the background rate from the ledger plus the fleet's predicted failures.

The method, kept simple enough to check by hand:

1. **Background demand.** Over the last ``history_days`` days, the part's consumption (the ledger's
   ``consumption`` movements, net of ``return``s of consumed parts) gives a mean daily rate
   ``rate = consumed / history_days``. Over the next ``days`` the expected background demand is
   ``rate * days``; parts are used one event at a time, so its spread is taken as Poisson's: the interval is
   the 10 % and 90 % quantiles of a Poisson variable with that mean (an 80 % interval).
2. **Predicted failures.** Each open preventive order and each open detector alert (without an open order
   of its own) whose failure mode needs the part, on an asset of a model the part fits and expected to fail
   within the horizon, adds the quantity the part/failure-mode mapping says a repair takes. These are
   known demand, added to the background expectation and to both ends of its interval.

This counts a predicted failure on top of the background rate, although past preventive repairs are in the
history too: the forecast errs on the side of having the part.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

LOW_QUANTILE = 0.10
HIGH_QUANTILE = 0.90


@dataclass(frozen=True, slots=True)
class Forecast:
    days: int
    history_days: int
    consumed: float  # in the history window
    daily_rate: float
    background: float  # expected background demand over the horizon
    background_low: int
    background_high: int
    predicted: float  # from predicted failures
    expected: float
    low: float
    high: float


def poisson_quantile(mean: float, p: float) -> int:
    """The smallest k with P(X <= k) >= p for X ~ Poisson(mean).

    >>> poisson_quantile(6.0, 0.10), poisson_quantile(6.0, 0.90)
    (3, 9)
    >>> poisson_quantile(0.0, 0.9)
    0
    """
    if not 0 < p < 1:
        raise ValueError("p must be between 0 and 1")
    if mean < 0:
        raise ValueError("mean must not be negative")
    if mean == 0:
        return 0
    cumulative = 0.0
    k = 0
    log_mean = math.log(mean)
    while True:
        cumulative += math.exp(-mean + k * log_mean - math.lgamma(k + 1))
        if cumulative >= p or k > mean + 50 * math.sqrt(mean) + 50:
            return k
        k += 1


def forecast(
    *, consumed: float | Decimal, history_days: int, days: int, predicted: Iterable[float | Decimal] = ()
) -> Forecast:
    """Expected demand over ``days`` from ``consumed`` in the last ``history_days`` and predicted failures.

    18 used in 90 days is 0.2 a day, 6 in 30 days (Poisson 10-90 %: 3 to 9); two predicted bearing
    repairs of 2 each add 4:

    >>> f = forecast(consumed=18, history_days=90, days=30, predicted=[2, 2])
    >>> f.daily_rate, f.background, (f.background_low, f.background_high)
    (0.2, 6.0, (3, 9))
    >>> f.expected, f.low, f.high
    (10.0, 7.0, 13.0)
    """
    if history_days < 1 or days < 1:
        raise ValueError("history_days and days must be at least 1")
    used = max(0.0, float(consumed))
    rate = used / history_days
    background = rate * days
    extra = float(sum(Decimal(str(q)) for q in predicted))
    low = poisson_quantile(background, LOW_QUANTILE)
    high = poisson_quantile(background, HIGH_QUANTILE)
    return Forecast(
        days=days,
        history_days=history_days,
        consumed=round(used, 3),
        daily_rate=round(rate, 6),
        background=round(background, 3),
        background_low=low,
        background_high=high,
        predicted=round(extra, 3),
        expected=round(background + extra, 3),
        low=round(low + extra, 3),
        high=round(high + extra, 3),
    )
