"""The KPI formulas: pure arithmetic on the figures the service reads from the database.

FORMULAS

The period is ``[from, to)``. Filters (region, site_id, customer_id, asset_model) keep the orders of the
matching assets; ``engineer_id`` keeps the orders whose current engineer it is (for utilisation: the visits
that engineer made). A status change is an event whose ``from_status`` differs from its ``to_status``,
whatever its kind (a check-in may move an order to on_site).

- First response time: for each order first accepted in the period, hours from its creation to that
  first move to ``accepted``. Mean and median over those orders.
- Mean time to repair: for each order first completed in the period that reached ``on_site`` before,
  hours from the first move to ``on_site`` to the first move to ``completed``. Mean and median.
- Mean time to resolve: for each order first completed in the period, hours from creation to the first
  move to ``completed``. Mean and median.
  An interval belongs to the period in which it ends, so a past period's figures do not change later.
- First-time-fix rate: among non-preventive orders first completed in the period that had at least one
  visit that was not cancelled (denominator), those with exactly one such visit, whose outcome is
  ``fixed``, and never reopened (numerator).
- Repeat visits within 7 days: among orders of any type first completed in the period (denominator),
  those reopened, or followed on the same asset by another non-preventive order created within 7 days
  after that completion (numerator). The follow-up order may be created after the period ends, so the
  figure of a period can still rise for 7 days after it.
- Engineer utilisation: labour minutes of the engineer's visits checked in during the period (cancelled
  visits excluded) / the minutes of the engineer's working hours (days, start, end, in their time zone;
  today's schedule) that fall in the period. Overall: the sums of both over the engineers listed (active
  engineers, plus any inactive one with labour in the period). Site filters restrict the labour counted,
  not the schedule: with a region, the rate is the share of their time spent in that region.
- Failure rate by asset model: corrective orders (type ``repair``) created in the period per asset-year in
  service in the period. An asset is in service from its installation date (its registration when
  unknown) on; its asset-years are the part of the period after that, in years of 365.25 days. Preventive
  orders are not failures; complaints are excluded because they are about the service given and a
  failure behind one already has its repair order; installations and inspections are not failures.
  ``engineer_id`` does not apply (a failure is the equipment's, not an engineer's).
- Preventive vs corrective: among orders created in the period that are preventive or repair
  (denominator), the share of each; ``by_type`` counts every type created in the period.
- CSAT: among surveys answered in the period with a CSAT score (denominator), the share scoring 4 or 5
  (numerator); and the mean score.
- NPS: among surveys answered in the period with an NPS score, 100 x (promoters (9-10) - detractors (0-6))
  / answers.
- SLA compliance, per clock (response, arrival, resolution; defined in ``service_core.sla.clock``), over
  orders created before the end of the period, their clocks taken as of the period's end (or now): a
  clock counts in the period in which it was settled, that is met (``met_at`` in the period) or, still
  unmet, breached (its target reached, ``due_at``, in the period). Numerator: clocks met within their
  target; denominator: clocks settled in the period. A clock still running within its target, paused,
  or stopped by a cancellation does not count; an order no SLA policy covers has no clocks.

Rates are ``None`` when their denominator is 0.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SECONDS_PER_YEAR = 365.25 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Ratio:
    numerator: int
    denominator: int
    rate: float | None


@dataclass(frozen=True, slots=True)
class Durations:
    orders: int
    mean_hours: float | None
    median_hours: float | None


def ratio(numerator: int, denominator: int) -> Ratio:
    """``numerator / denominator`` to four places, None when there is nothing to divide by.

    >>> ratio(2, 3)
    Ratio(numerator=2, denominator=3, rate=0.6667)
    """
    return Ratio(numerator, denominator, round(numerator / denominator, 4) if denominator else None)


def durations(seconds: Sequence[float]) -> Durations:
    """Mean and median of intervals given in seconds, in hours to two places.

    >>> durations([3600, 7200, 36000])
    Durations(orders=3, mean_hours=4.33, median_hours=2.0)
    """
    if not seconds:
        return Durations(0, None, None)
    hours = [s / 3600 for s in seconds]
    return Durations(len(hours), round(statistics.fmean(hours), 2), round(statistics.median(hours), 2))


def nps(promoters: int, detractors: int, answers: int) -> float | None:
    """Net promoter score, -100..100, to one place.

    >>> nps(promoters=2, detractors=1, answers=4)
    25.0
    """
    return round(100 * (promoters - detractors) / answers, 1) if answers else None


def sla_compliance(settled: Iterable[tuple[str, bool]], metrics: Sequence[str]) -> dict[str, Ratio]:
    """Per metric, the share of settled clocks that were met within target.

    >>> sla_compliance([("response", True), ("response", False), ("resolution", True)], ["response", "arrival"])
    {'response': Ratio(numerator=1, denominator=2, rate=0.5), 'arrival': Ratio(numerator=0, denominator=0, rate=None)}
    """
    met = dict.fromkeys(metrics, 0)
    total = dict.fromkeys(metrics, 0)
    for metric, within in settled:
        if metric in total:
            total[metric] += 1
            met[metric] += within
    return {m: ratio(met[m], total[m]) for m in metrics}


def asset_years(seconds: float) -> float:
    return seconds / SECONDS_PER_YEAR


def per_asset_year(orders: int, exposure_seconds: float) -> float | None:
    """Orders per asset-year, to four places."""
    return round(orders / asset_years(exposure_seconds), 4) if exposure_seconds > 0 else None


def scheduled_minutes(
    *, work_days: Iterable[int], work_start: time, work_end: time, timezone: str, start: datetime, end: datetime
) -> int:
    """Minutes of a weekly shift (ISO days, wall-clock hours in ``timezone``) that fall in ``[start, end)``.

    Days are taken in the engineer's zone, so a daylight-saving change moves the shift with the clock.

    >>> scheduled_minutes(work_days=[1, 2, 3, 4, 5], work_start=time(8), work_end=time(17), timezone="UTC",
    ...                   start=datetime(2025, 3, 3, tzinfo=UTC), end=datetime(2025, 3, 10, tzinfo=UTC))
    2700
    """
    zone = ZoneInfo(timezone)
    days = set(work_days)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    total = timedelta()
    day: date = first
    while day <= last:
        if day.isoweekday() in days:
            shift_start = datetime.combine(day, work_start, zone).astimezone(UTC)
            shift_end = datetime.combine(day, work_end, zone).astimezone(UTC)
            overlap = min(shift_end, end) - max(shift_start, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)
