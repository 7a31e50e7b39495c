"""Injected faults: their signatures, their ground truth, and how they are written."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.equipment import Motor, Pump, equipment_type, generate
from simulators.errors import FaultRejected
from simulators.faults import MODES, FaultSpec, parse_fault, severity
from simulators.operation import Operation

ONSET = 120.0

# How each signal of a unit at rated duty differs from the same unit healthy just before failure:
# "+" / "-" clearly up / down, "=" unchanged. Unlisted signals are not constrained.
SIGNATURES = {
    ("pump", "bearing_wear"): {"vibration_rms_mm_s": "+", "bearing_temp_c": "+", "motor_current_a": "+",
                               "flow_m3h": "=", "pressure_bar": "="},
    ("pump", "cavitation"): {"pressure_bar": "-", "flow_m3h": "-", "vibration_rms_mm_s": "+",
                             "motor_current_a": "-", "bearing_temp_c": "="},
    ("pump", "seal_leak"): {"flow_m3h": "-", "pressure_bar": "-", "motor_current_a": "=",
                            "vibration_rms_mm_s": "=", "bearing_temp_c": "="},
    ("pump", "imbalance"): {"vibration_rms_mm_s": "+", "bearing_temp_c": "=", "flow_m3h": "=", "pressure_bar": "="},
    ("motor", "bearing_wear"): {"vibration_rms_mm_s": "+", "bearing_temp_c": "+", "motor_current_a": "+"},
    ("motor", "overheating"): {"winding_temp_c": "+", "bearing_temp_c": "+", "motor_current_a": "+",
                               "vibration_rms_mm_s": "="},
    ("motor", "imbalance"): {"vibration_rms_mm_s": "+", "bearing_temp_c": "=", "winding_temp_c": "="},
}


def _pair(kind: str, mode: str, *, seed: int = 1, level: float = 1.0, duration: float = 600.0, until=None):
    """The same unit healthy and with ``mode``, sampled at 1 Hz."""
    op = Operation(change_every_s=None, duty_cycles=False, level=level)
    spec = FaultSpec(f"{kind}-001", mode, ONSET, duration)
    seconds = until if until is not None else spec.failure_s
    healthy = dict(generate(kind, seconds, 1, seed=seed, operation=op))
    faulty = dict(generate(kind, seconds, 1, seed=seed, operation=op, fault=spec))
    return spec, healthy, faulty


def _window(rows, metric, start, end):
    return [rows[float(t)][metric] for t in range(int(start), int(end) + 1)]


@pytest.mark.parametrize("kind, mode", list(SIGNATURES))
def test_each_fault_moves_its_signature_signals(kind, mode):
    spec, healthy, faulty = _pair(kind, mode)
    end = spec.failure_s
    for metric, direction in SIGNATURES[(kind, mode)].items():
        before = _window(healthy, metric, end - 10, end)
        after = _window(faulty, metric, end - 10, end)
        delta = statistics.fmean(after) - statistics.fmean(before)
        noise = statistics.stdev(_window(healthy, metric, 0, ONSET))
        if direction == "=":
            assert abs(delta) <= 0.015 * abs(statistics.fmean(before)) + noise, (metric, delta)
        else:
            # Both runs draw the same noise, so even a slight change shows clearly in the difference.
            assert delta * (1 if direction == "+" else -1) > max(noise, 0.01 * statistics.fmean(before)), (
                metric, delta)
    assert all(faulty[t] == healthy[t] for t in range(int(ONSET) + 1)), "no sign of the fault before onset"


def test_slight_changes_stay_slight():
    _, healthy, faulty = _pair("pump", "bearing_wear")
    ratio = statistics.fmean(_window(faulty, "motor_current_a", 710, 720)) / statistics.fmean(
        _window(healthy, "motor_current_a", 710, 720))
    assert 1.01 < ratio < 1.10


def test_cavitation_makes_pressure_and_vibration_fluctuate():
    _, healthy, faulty = _pair("pump", "cavitation")
    for metric in ("pressure_bar", "vibration_rms_mm_s"):
        assert statistics.stdev(_window(faulty, metric, 660, 720)) > 5 * statistics.stdev(
            _window(healthy, metric, 660, 720))


@pytest.mark.parametrize("kind, mode", list(SIGNATURES))
def test_the_main_signal_reaches_the_failure_threshold_at_onset_plus_duration(kind, mode):
    failure_mode = MODES[mode]
    spec, healthy, faulty = _pair(kind, mode, duration=900.0)
    at_failure = statistics.fmean(_window(faulty, failure_mode.metric, spec.failure_s - 4, spec.failure_s))
    if failure_mode.limit is not None:
        assert at_failure == pytest.approx(failure_mode.limit, rel=0.05)
    else:
        was = statistics.fmean(_window(healthy, failure_mode.metric, spec.failure_s - 4, spec.failure_s))
        assert at_failure == pytest.approx(was * (1 - failure_mode.loss), rel=0.05)
    # Not before: a tenth of the way earlier it is still clearly short of it.
    earlier = statistics.fmean(_window(faulty, failure_mode.metric, spec.failure_s - 94, spec.failure_s - 90))
    assert abs(earlier - at_failure) > 0.08 * abs(at_failure - healthy[0.0][failure_mode.metric])


@pytest.mark.parametrize("kind, mode", list(SIGNATURES))
def test_the_unit_trips_after_failure(kind, mode):
    spec, _, faulty = _pair(kind, mode, until=ONSET + 600 + 60)
    assert faulty[spec.failure_s]["speed_rpm"] > 1000
    assert faulty[spec.failure_s + 60]["speed_rpm"] == 0


@pytest.mark.parametrize("kind, mode", list(SIGNATURES))
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("end", ["low", "high"])
def test_the_main_signal_is_four_sigma_off_within_a_minute_of_onset(kind, mode, seed, end):
    level = equipment_type(kind).levels[0 if end == "low" else 1]
    metric = MODES[mode].metric
    _, healthy, faulty = _pair(kind, mode, seed=seed, level=level, until=ONSET + 60)
    noise = statistics.stdev(_window(healthy, metric, 0, ONSET))
    shift = statistics.fmean(_window(faulty, metric, ONSET + 55, ONSET + 60)) - statistics.fmean(
        _window(healthy, metric, ONSET + 55, ONSET + 60))
    assert abs(shift) >= 4 * noise, f"{metric} moved {shift / noise:.1f} σ"


def test_a_unit_with_a_developing_fault_keeps_running_through_its_duty_cycle():
    op = Operation(change_every_s=None, run_s=100, stop_s=300)
    spec = FaultSpec("pump-001", "bearing_wear", 900)
    rows = dict(generate("pump", spec.failure_s, 1, seed=3, operation=op, fault=spec))
    assert any(m["speed_rpm"] == 0 for t, m in rows.items() if t < 500), "the duty cycle stops it before"
    assert all(m["speed_rpm"] > 2800 for t, m in rows.items() if t >= spec.start_s - 200)


def test_severity_grows_from_zero_at_onset_to_one_at_failure():
    spec = FaultSpec("pump-003", "seal_leak", 30, 600)
    values = [spec.severity_at(t) for t in range(0, 700, 5)]
    assert values == sorted(values)
    assert spec.severity_at(30) == 0 and spec.severity_at(630) == 1 and spec.severity_at(10_000) == 1
    assert spec.severity_at(90) == pytest.approx(severity(0.1)) and severity(0.1) > 0.07


def test_a_mode_that_does_not_apply_to_the_equipment_is_rejected():
    with pytest.raises(FaultRejected, match="cavitation does not apply to a motor \\(EM-75\\); it applies to: pump"):
        Motor(faults=[FaultSpec("motor-001", "cavitation", 10)])
    with pytest.raises(FaultRejected, match="overheating does not apply to a pump"):
        list(generate("pump", 10, fault="pump-001:overheating@5"))
    with pytest.raises(FaultRejected, match="once"):
        Pump(faults=[FaultSpec("p", "imbalance", 10), FaultSpec("p", "imbalance", 20)])


# -- the text form ---------------------------------------------------------------------------------


def test_parse_fault_examples():
    assert parse_fault("pump-003:bearing_wear@30") == FaultSpec("pump-003", "bearing_wear", 30.0, 600.0)
    assert parse_fault("pump-003:bearing_wear@30+900") == FaultSpec("pump-003", "bearing_wear", 30.0, 900.0)
    assert parse_fault(" motor-002:overheating@12.5+60.25 ").failure_s == 72.75
    assert str(parse_fault("site.a_b-1:imbalance@0")) == "site.a_b-1:imbalance@0+600"


@pytest.mark.parametrize("text, reason", [
    ("", "expected ASSET:MODE@SECONDS"),
    ("pump-003", "expected ASSET:MODE@SECONDS"),
    ("pump-003:bearing_wear", "expected ASSET:MODE@SECONDS"),
    ("pump-003@30", "expected ASSET:MODE@SECONDS"),
    (":bearing_wear@30", "invalid asset id ''"),
    ("pump 003:bearing_wear@30", "invalid asset id 'pump 003'"),
    ("p" * 65 + ":bearing_wear@30", "invalid asset id"),
    ("pump-003:bearings@30", "unknown failure mode 'bearings'; known: bearing_wear, cavitation"),
    ("pump-003:bearing_wear@", "start must be a number of seconds"),
    ("pump-003:bearing_wear@-5", "start must be a number of seconds"),
    ("pump-003:bearing_wear@soon", "got 'soon'"),
    ("pump-003:bearing_wear@nan", "got 'nan'"),
    ("pump-003:bearing_wear@1e3", "got '1e3'"),
    ("pump-003:bearing_wear@30+", "duration must be a number of seconds"),
    ("pump-003:bearing_wear@30+0", "duration must be positive"),
    ("pump-003:bearing_wear@30+10+10", "duration must be a number of seconds"),
    ("pump-003:bearing_wear@" + "9" * 400, "finite"),
])
def test_parse_fault_explains_what_is_wrong(text, reason):
    with pytest.raises(FaultRejected) as caught:
        parse_fault(text)
    assert reason in str(caught.value)
    assert repr(text.strip()) in str(caught.value) or not text.strip()


@pytest.mark.parametrize("kwargs, reason", [
    ({"start_s": -1}, "start must be zero or more"),
    ({"start_s": float("nan")}, "finite"),
    ({"start_s": True}, "finite number"),
    ({"start_s": "30"}, "finite number"),
    ({"duration_s": 0}, "duration must be positive"),
    ({"duration_s": float("inf")}, "finite"),
    ({"start_s": 1e308, "duration_s": 1e308}, "start + duration must be finite"),
    ({"mode": "rust"}, "unknown failure mode 'rust'"),
    ({"asset_id": "pump/003"}, "invalid asset id"),
])
def test_fault_spec_checks_itself(kwargs, reason):
    with pytest.raises(FaultRejected, match=reason.replace("+", "\\+")):
        FaultSpec(**{"asset_id": "pump-003", "mode": "seal_leak", "start_s": 30, **kwargs})


asset_ids = st.from_regex(r"[A-Za-z0-9_.\-]{1,64}", fullmatch=True)
seconds = st.floats(min_value=0, max_value=1e12, allow_nan=False)


@given(asset_ids, st.sampled_from(sorted(MODES)), seconds, seconds.filter(lambda s: s > 0))
def test_a_fault_spec_reads_back_from_its_text(asset_id, mode, start, duration):
    spec = FaultSpec(asset_id, mode, start, duration)
    assert parse_fault(str(spec)) == spec


@given(asset_ids, st.sampled_from(sorted(MODES)), st.integers(0, 10**6), st.none() | st.integers(1, 10**6))
def test_written_faults_parse_to_their_parts(asset_id, mode, start, duration):
    text = f"{asset_id}:{mode}@{start}" + ("" if duration is None else f"+{duration}")
    spec = parse_fault(text)
    assert (spec.asset_id, spec.mode, spec.start_s) == (asset_id, mode, start)
    assert spec.duration_s == (600 if duration is None else duration)
    assert spec.failure_s == spec.start_s + spec.duration_s


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.from_regex(
    r"[a-z0-9:@+.\-_ ]{0,30}", fullmatch=True))
def test_any_text_parses_or_is_rejected_clearly(text):
    try:
        spec = parse_fault(text)
    except FaultRejected as exc:
        assert str(exc).startswith("fault ")
    else:
        assert isinstance(spec, FaultSpec)
