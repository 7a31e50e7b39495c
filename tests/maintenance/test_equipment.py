"""Datasheet limits: where a drifting signal counts as failed."""

from __future__ import annotations

import pytest

from maintenance.equipment import DATASHEET, PROFILES, Limit, profile_for


def test_a_rising_signal_fails_at_its_trip_else_its_alarm():
    assert Limit(None, 7.1, "mm/s", trip_high=11.0).failure_level(True, 2.0) == 11.0
    assert Limit(None, 90.0, "degC").failure_level(True, 55.0) == 90.0
    assert Limit(2.0, None, "bar").failure_level(True, 6.0) is None


def test_a_falling_signal_fails_at_whichever_comes_first_of_its_trip_and_its_loss():
    pressure = DATASHEET["CP-200"]["pressure_bar"]
    assert pressure.failure_level(False, 6.0) == pytest.approx(3.6)  # 40 % of its head lost
    assert pressure.failure_level(False, 1.5) == 1.2  # at a low duty the trip comes first
    assert Limit(40.0, None, "m3/h").failure_level(False, 120.0) == 40.0
    assert Limit(None, 150.0, "A").failure_level(False, 100.0) is None


def test_limits_are_checked():
    with pytest.raises(ValueError):
        Limit(5.0, 1.0, "bar")
    with pytest.raises(ValueError):
        Limit(None, None, "bar", loss=1.5)


def test_every_known_model_is_profiled_with_its_limits():
    assert set(PROFILES) == set(DATASHEET)
    for model, profile in PROFILES.items():
        assert set(profile.thermal) <= set(profile.condition) <= set(DATASHEET[model])
        assert profile.driver in DATASHEET[model]


def test_an_unknown_model_is_watched_on_everything_it_sends():
    profile = profile_for("XR-9", ("b", "a"))
    assert (profile.driver, profile.condition, profile.thermal) == (None, ("a", "b"), ())
