"""Each failure mode from its signature: which signals deviate, which way, and how noisily."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance.failure_modes import (
    BEARING_TEMP,
    CURRENT,
    FLOW,
    MODES,
    PRESSURE,
    VIBRATION,
    WINDING_TEMP,
    Deviation,
    classify,
)

QUIET = Deviation(0.2)


def pump(**changes: Deviation) -> dict[str, Deviation]:
    signals = {FLOW: QUIET, PRESSURE: QUIET, CURRENT: QUIET, VIBRATION: QUIET, BEARING_TEMP: QUIET}
    signals.update({_METRIC[k]: v for k, v in changes.items()})
    return signals


def motor(**changes: Deviation) -> dict[str, Deviation]:
    signals = {VIBRATION: QUIET, BEARING_TEMP: QUIET, WINDING_TEMP: QUIET}
    signals.update({_METRIC[k]: v for k, v in changes.items()})
    return signals


_METRIC = {
    "flow": FLOW,
    "pressure": PRESSURE,
    "current": CURRENT,
    "vibration": VIBRATION,
    "bearing": BEARING_TEMP,
    "winding": WINDING_TEMP,
}


@pytest.mark.parametrize(
    ("signature", "mode"),
    [
        # vibration up, the bearing heating behind it, a little more current
        (pump(vibration=Deviation(8.0), bearing=Deviation(1.4, trend=2.5), current=Deviation(1.1)), "bearing_wear"),
        (pump(vibration=Deviation(8.0), bearing=Deviation(4.5), current=Deviation(1.0)), "bearing_wear"),
        (motor(vibration=Deviation(12.0), bearing=Deviation(2.0, trend=3.0)), "bearing_wear"),
        (pump(vibration=Deviation(6.0), bearing=Deviation(2.4), current=Deviation(2.3)), "bearing_wear"),
        # vibration up alone
        (pump(vibration=Deviation(8.0)), "imbalance"),
        (motor(vibration=Deviation(9.0), bearing=Deviation(2.5, trend=0.2)), "imbalance"),
        # pressure collapsing and fluctuating, flow down, a rattling casing
        (
            pump(pressure=Deviation(-4.0, noise=3.0), flow=Deviation(-2.0), vibration=Deviation(3.0, noise=2.5)),
            "cavitation",
        ),
        (pump(pressure=Deviation(-1.5, noise=2.2), vibration=Deviation(2.5)), "cavitation"),
        (pump(pressure=Deviation(-3.0), flow=Deviation(-2.5), vibration=Deviation(3.0)), "cavitation"),
        # pressure and flow sinking steadily, nothing else
        (pump(pressure=Deviation(-4.5), flow=Deviation(-3.0)), "seal_leak"),
        (pump(pressure=Deviation(-3.0), flow=Deviation(-0.5)), "seal_leak"),
        # less flow against more head, the motor unloading
        (pump(flow=Deviation(-5.0), pressure=Deviation(2.5), current=Deviation(-1.5)), "blockage"),
        (pump(flow=Deviation(-5.0), pressure=Deviation(0.3), current=Deviation(-2.0)), "blockage"),
        # the winding heating on its own
        (motor(winding=Deviation(7.0), bearing=Deviation(1.0)), "overheating"),
        (motor(winding=Deviation(6.0), vibration=Deviation(2.5)), "overheating"),
        # nothing recognisable
        (pump(current=Deviation(5.0)), "unknown"),
        (motor(bearing=Deviation(-4.0)), "unknown"),
        ({}, "unknown"),
    ],
)
def test_signatures(signature, mode):
    assert classify(signature) == mode
    assert mode in MODES


def test_the_demand_moving_under_a_vibrating_pump_is_not_cavitation():
    # a valve opening: more flow, less head
    assert classify(pump(vibration=Deviation(12.0), pressure=Deviation(-2.1), flow=Deviation(2.2))) == "imbalance"


def test_a_vibrating_bearing_that_warms_the_winding_is_not_overheating():
    assert classify(motor(vibration=Deviation(15.0), winding=Deviation(3.0), bearing=Deviation(5.0))) == "bearing_wear"


def test_flow_down_alone_with_pressure_holding_is_not_a_blockage_without_the_motor_unloading():
    assert classify(pump(flow=Deviation(-4.0), pressure=Deviation(-0.3))) == "seal_leak"


deviation = st.builds(
    Deviation,
    st.floats(min_value=-50, max_value=50),
    st.floats(min_value=0, max_value=20),
    st.floats(min_value=-20, max_value=20),
)


@given(st.dictionaries(st.sampled_from([FLOW, PRESSURE, CURRENT, VIBRATION, BEARING_TEMP, WINDING_TEMP]), deviation))
def test_every_signature_gets_a_known_mode(signature):
    assert classify(signature) in MODES


@given(st.dictionaries(st.sampled_from([FLOW, PRESSURE, CURRENT, VIBRATION, BEARING_TEMP, WINDING_TEMP]), deviation))
def test_signals_within_healthy_spread_name_nothing(signature):
    quiet = {m: Deviation(max(-1.9, min(1.9, d.level)), 1.0, d.trend) for m, d in signature.items()}
    assert classify(quiet) == "unknown"
