"""Healthy physics of the simulated pump and motor: plausible, coupled, deterministic."""

from __future__ import annotations

import doctest
import math
import statistics

import pytest

from simulators import equipment, faults
from simulators.equipment import Motor, Pump, equipment_type, generate
from simulators.errors import ConfigRejected
from simulators.operation import Operation

HELD = Operation(change_every_s=None, duty_cycles=False)

# Plausible readings of a running, healthy unit anywhere in its operating range.
BANDS = {
    "CP-200": {
        "speed_rpm": (2150, 3000),
        "flow_m3h": (85, 124),
        "pressure_bar": (3.1, 6.2),
        "motor_current_a": (25, 58),
        "vibration_rms_mm_s": (0.9, 2.8),  # ISO 10816 zone A/B
        "bearing_temp_c": (30, 62),
    },
    "EM-75": {
        "speed_rpm": (1470, 1495),
        "motor_current_a": (60, 140),
        "vibration_rms_mm_s": (1.0, 2.8),
        "bearing_temp_c": (30, 58),
        "winding_temp_c": (30, 100),
    },
}


def _series(model: str, seconds: float, rate_hz: float = 1.0, **kwargs) -> list[tuple[float, dict[str, float]]]:
    return list(generate(model, seconds, rate_hz, **kwargs))


@pytest.mark.parametrize("model", ["CP-200", "EM-75"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_healthy_running_readings_stay_in_plausible_bands(model, seed):
    cls = equipment_type(model)
    rows = _series(model, 4 * 3600, 0.2, seed=seed)
    running = [m for _, m in rows if m["speed_rpm"] > BANDS[model]["speed_rpm"][0]]
    assert len(running) > 0.8 * len(rows)
    for metrics in running:
        assert set(metrics) == set(cls.metrics)
        for name, (low, high) in BANDS[model].items():
            assert low <= metrics[name] <= high, (name, metrics)
    assert all(math.isfinite(v) for _, m in rows for v in m.values())


@pytest.mark.parametrize("model, nominal", [
    ("CP-200", {"speed_rpm": 2950, "flow_m3h": 120, "pressure_bar": 6.0, "motor_current_a": 55,
                "vibration_rms_mm_s": 2.0, "bearing_temp_c": 55}),
    ("EM-75", {"speed_rpm": 1480, "motor_current_a": 130, "vibration_rms_mm_s": 1.8,
               "bearing_temp_c": 50, "winding_temp_c": 85}),
])
def test_nominal_values_at_rated_duty(model, nominal):
    rows = [m for _, m in _series(model, 300, seed=5, operation=HELD)]
    for name, expected in nominal.items():
        mean = statistics.fmean(m[name] for m in rows)
        assert mean == pytest.approx(expected, rel=0.06), name


def test_pump_follows_the_affinity_laws_across_operating_points():
    rows = [m for _, m in _series("pump", 3 * 3600, 0.1, seed=11, operation=Operation(duty_cycles=False))]
    speeds = {round(m["speed_rpm"], -2) for m in rows}
    assert max(speeds) - min(speeds) >= 400, "operating points should vary"
    for m in rows:
        n = m["speed_rpm"] / Pump.RATED_RPM
        assert m["flow_m3h"] / n == pytest.approx(120, rel=0.02)
        assert m["pressure_bar"] / n**2 == pytest.approx(6.0, rel=0.03)
    low = [m for m in rows if m["speed_rpm"] < 2450]
    high = [m for m in rows if m["speed_rpm"] > 2800]
    assert statistics.fmean(m["motor_current_a"] for m in low) < 0.75 * statistics.fmean(
        m["motor_current_a"] for m in high
    )


def test_motor_current_and_slip_rise_with_load_and_the_winding_follows_with_a_lag():
    light = Motor(seed=4, operation=Operation(change_every_s=None, level=0.5, duty_cycles=False))
    full = Motor(seed=4, operation=Operation(change_every_s=None, level=1.0, duty_cycles=False))
    a = [light.step(float(t)) for t in range(120)]
    b = [full.step(float(t)) for t in range(120)]
    mean = lambda rows, k: statistics.fmean(r[k] for r in rows)  # noqa: E731
    assert mean(a, "motor_current_a") < 0.7 * mean(b, "motor_current_a")
    assert mean(a, "speed_rpm") > mean(b, "speed_rpm") + 5
    assert mean(a, "winding_temp_c") < mean(b, "winding_temp_c") - 25

    # After a large load change the current follows within seconds, the winding over minutes.
    motor = Motor(seed=1, operation=Operation(duty_cycles=False, change_every_s=1200))  # 0.97 -> 0.56 at 926 s
    rows = [motor.step(float(t)) for t in range(3600)]
    level = motor.schedule.level
    t = next(t for t in range(1, 3000) if abs(level(t) - level(t - 1)) > 0.2 and level(t) == level(t + 600))
    current = [rows[t - 5]["motor_current_a"], rows[t + 10]["motor_current_a"], rows[t + 590]["motor_current_a"]]
    winding = [rows[t - 5]["winding_temp_c"], rows[t + 10]["winding_temp_c"], rows[t + 590]["winding_temp_c"]]
    assert abs(current[1] - current[0]) > 0.8 * abs(current[2] - current[0]) > 15
    assert abs(winding[1] - winding[0]) < 0.2 * abs(winding[2] - winding[0])
    assert (current[2] - current[0]) * (winding[2] - winding[0]) > 0


def test_a_stopped_unit_reads_zero_and_cools_towards_ambient():
    op = Operation(change_every_s=None, duty_cycles=True, run_s=200, stop_s=400)
    rows = _series("pump", 1800, 1, seed=2, operation=op)
    # Once the drive has wound down (two seconds at zero speed).
    stopped = [
        (t, m) for (_, a), (_, b), (t, m) in zip(rows, rows[1:], rows[2:], strict=False)
        if a["speed_rpm"] == b["speed_rpm"] == m["speed_rpm"] == 0
    ]
    assert len(stopped) > 300
    for _, m in stopped:
        assert m["flow_m3h"] == 0 and m["motor_current_a"] == 0
        assert m["pressure_bar"] < 0.05 and m["vibration_rms_mm_s"] < 0.15
    temps = [m["bearing_temp_c"] for _, m in stopped[:200]]
    assert temps[-1] < temps[0] - 5
    assert min(m["bearing_temp_c"] for _, m in stopped) > 15  # ambient, not below

    motor = _series("motor", 1800, 1, seed=2, operation=op)
    still = [m for _, m in motor if m["speed_rpm"] == 0]
    assert still and all(m["motor_current_a"] == 0 for m in still)


def test_duty_cycles_can_be_disabled():
    rows = _series("motor", 3 * 3600, 0.05, seed=9, operation=Operation(duty_cycles=False))
    assert all(m["speed_rpm"] > 1400 for _, m in rows)


@pytest.mark.parametrize("model", ["pump", "motor"])
def test_same_seed_same_readings_other_seed_other_readings(model):
    assert _series(model, 600, 2, seed=42) == _series(model, 600, 2, seed=42)
    assert _series(model, 600, 2, seed=42) != _series(model, 600, 2, seed=43)


def test_operating_schedule_does_not_depend_on_the_sampling_rate():
    slow = dict(_series("pump", 1800, 0.5, seed=6, operation=Operation(duty_cycles=False)))
    fast = dict(_series("pump", 1800, 5, seed=6, operation=Operation(duty_cycles=False)))
    for t in range(30, 1800, 60):  # away from ramps the speeds agree within noise
        assert slow[float(t)]["speed_rpm"] == pytest.approx(fast[float(t)]["speed_rpm"], abs=30)


def test_time_cannot_run_backwards():
    pump = Pump(seed=1)
    pump.step(10.0)
    with pytest.raises(ValueError, match="backwards"):
        pump.step(9.0)


def test_unknown_equipment_and_bad_operation_are_rejected():
    with pytest.raises(ConfigRejected, match="unknown equipment 'compressor'.*CP-200 \\(pump\\)"):
        equipment_type("compressor")
    with pytest.raises(ConfigRejected, match="between 0.75 and 1.00"):
        Pump(operation=Operation(change_every_s=None, level=0.3))
    with pytest.raises(ConfigRejected, match="run_s"):
        Operation(run_s=0)
    with pytest.raises(ConfigRejected, match="positive rate"):
        generate("pump", 10, 0)


@pytest.mark.parametrize("module", [equipment, faults])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted and not result.failed
