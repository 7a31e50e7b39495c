"""``fleetcare eval rul``: a simulated fault is seen before it fails the unit, and the figures add up."""

from __future__ import annotations

import dataclasses

import pytest

from maintenance.events import TimeToFailure
from service_core.cli import main
from service_core.runtime import lead_time, lead_time_report
from service_core.runtime.lead_time import HistoryDiverged, Outcome, Trial


def test_every_mode_is_tried_on_every_kind_it_applies_to():
    planned = lead_time.trials(seeds=2, durations_s=(600.0,))
    pairs = {(t.model, t.mode) for t in planned}
    assert ("EM-75", "overheating") in pairs and ("CP-200", "cavitation") in pairs
    assert ("EM-75", "cavitation") not in pairs and ("CP-200", "overheating") not in pairs
    assert len(pairs) == 7 and len(planned) == 14


def test_a_seal_leak_is_seen_well_before_the_failure_with_a_sane_estimate():
    trial = Trial("CP-200", "seal_leak", 600.0, 1)
    healthy = lead_time.run_healthy(trial, lead_time.HEALTHY_S)
    outcome = lead_time.run_trial(trial, healthy)

    assert healthy.false_alerts == () and not healthy.open_at_onset
    assert outcome.detected and outcome.named_mode == "seal_leak"
    assert outcome.onset_s < outcome.alert_s < outcome.failure_s
    assert 0 < outcome.lead_s < trial.duration_s and 0.5 < outcome.lead_fraction < 1
    ttf = outcome.estimate
    assert ttf is not None and 0 < ttf.low <= ttf.hours <= ttf.high < 10 * trial.duration_s / 3600
    assert outcome.error_h == pytest.approx(ttf.hours - outcome.lead_s / 3600)
    assert abs(outcome.relative_error) < 1


def test_a_trial_refuses_a_checkpoint_learned_from_other_readings():
    trial = Trial("EM-75", "imbalance", 600.0, 2)
    healthy = lead_time.run_healthy(trial, 300.0)
    tampered = list(healthy.readings)
    tampered[150] = {**tampered[150], "winding_temp_c": tampered[150]["winding_temp_c"] + 1.0}
    with pytest.raises(HistoryDiverged):
        lead_time.run_trial(trial, dataclasses.replace(healthy, readings=tuple(tampered)))


def _outcome(mode: str, named: str | None, alert_s: float | None, estimate: TimeToFailure | None) -> Outcome:
    return Outcome(Trial("CP-200", mode, 3600.0, 1), 7200.0, 10800.0, alert_s, named, estimate)


def test_the_figures_count_what_each_trial_shows():
    # remaining at the alert: 0.5 h, 0.75 h; one alert without an estimate, one miss
    outcomes = [
        _outcome("seal_leak", "seal_leak", 9000.0, TimeToFailure(0.6, 0.4, 0.7, "pressure_bar")),
        _outcome("imbalance", "unknown", 8100.0, TimeToFailure(0.5, 0.45, 0.55, "vibration_rms_mm_s")),
        _outcome("cavitation", "cavitation", 9900.0, None),
        _outcome("bearing_wear", None, None, None),
    ]
    f = lead_time_report.figures(outcomes)
    assert (f.trials, f.detected, f.mode_right, f.estimates, f.covered) == (4, 3, 2, 2, 1)
    assert f.detection_rate == 0.75 and f.mode_accuracy == pytest.approx(2 / 3) and f.coverage == 0.5
    assert f.median_lead_s == 1800.0 and f.median_lead_fraction == 0.5
    assert f.median_abs_relative_error == pytest.approx((0.2 + 1 / 3) / 2)
    assert outcomes[1].error_h == pytest.approx(-0.25) and outcomes[3].lead_s is None


def test_the_command_refuses_no_seeds(capsys):
    assert main(["eval", "rul", "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err
