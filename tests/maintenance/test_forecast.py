"""Time to failure from the trend of a degrading signal."""

from __future__ import annotations

import random

import pytest

from maintenance.forecast import time_to_failure


def readings(slope: float, noise: float, n: int = 120, start: float = 2.0, seed: int = 1, curvature: float = 0.0):
    rng = random.Random(seed)
    times = [float(t) for t in range(n)]
    return times, [start + slope * t + curvature * t * t + rng.gauss(0, noise) for t in times]


def test_a_steady_rise_is_extrapolated_to_the_failure_level():
    times, values = readings(slope=0.015, noise=0.08)
    ttf = time_to_failure("vibration_rms_mm_s", times, values, 11.0, rising=True)
    true_seconds = (11.0 - (2.0 + 0.015 * 119)) / 0.015
    assert ttf.metric == "vibration_rms_mm_s"
    assert ttf.hours * 3600 == pytest.approx(true_seconds, rel=0.1)
    assert ttf.low <= ttf.hours <= ttf.high
    assert ttf.low * 3600 <= true_seconds <= ttf.high * 3600


def test_a_falling_signal_heads_for_a_low_limit():
    times, values = readings(slope=-0.008, noise=0.04, start=6.0)
    ttf = time_to_failure("pressure_bar", times, values, 1.2, rising=False)
    true_seconds = ((6.0 - 0.008 * 119) - 1.2) / 0.008
    assert ttf.hours * 3600 == pytest.approx(true_seconds, rel=0.1)


@pytest.mark.parametrize(("slope", "rising"), [(0.0, True), (-0.01, True), (0.01, False)])
def test_no_trend_towards_the_level_gives_none(slope, rising):
    times, values = readings(slope=slope, noise=0.1)
    assert time_to_failure("m", times, values, 11.0 if rising else -5.0, rising=rising) is None


def test_too_few_readings_give_none():
    assert time_to_failure("m", [0.0, 1.0, 2.0], [1.0, 2.0, 3.0], 10.0, rising=True) is None


def test_wild_readings_barely_move_the_estimate():
    times, values = readings(slope=0.015, noise=0.08)
    clean = time_to_failure("m", times, values, 11.0, rising=True)
    for i in (10, 50, 90):
        values[i] += 40.0
    wild = time_to_failure("m", times, values, 11.0, rising=True)
    assert wild.hours == pytest.approx(clean.hours, rel=0.1)


def test_an_accelerating_rise_pulls_the_low_end_in():
    times, values = readings(slope=0.01, noise=0.03, curvature=0.0002)
    ttf = time_to_failure("m", times, values, 11.0, rising=True)
    # the parabola through the readings reaches 11 sooner than the straight line does
    assert ttf.low < 0.8 * ttf.hours


def test_already_beyond_the_level_is_now():
    times, values = readings(slope=0.02, noise=0.05, start=12.0)
    assert time_to_failure("m", times, values, 11.0, rising=True).hours == 0.0
