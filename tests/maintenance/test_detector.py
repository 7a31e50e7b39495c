"""The detector: river's estimator contract, and how it treats operating points, stops and faults."""

from __future__ import annotations

import copy
import pickle

import pytest
from river.checks import common

from maintenance.alerts import AlertDecision
from maintenance.detector import ConditionDetector
from maintenance.equipment import DATASHEET, PROFILES
from simulators.operation import Operation
from tests.maintenance import plant


def detector_for(model: str, **overrides) -> ConditionDetector:
    profile = PROFILES[model]
    params = dict(
        condition=profile.condition,
        thermal=profile.thermal,
        driver=profile.driver,
        nominal=profile.nominal,
        running_metric=profile.running_metric,
        running_min=profile.running_min,
        limits={m: (lim.low, lim.high) for m, lim in DATASHEET[model].items()},
    )
    params.update(overrides)
    return ConditionDetector(**params)


ESTIMATORS = [ConditionDetector(), detector_for("CP-200"), detector_for("EM-75")]
IDS = ["default", "CP-200", "EM-75"]

# river's own contract checks; those needing a dataset get a stretch of simulated telemetry
PLAIN_CHECKS = [
    common.check_repr,
    common.check_str,
    common.check_tags,
    common.check_clone_same_class,
    common.check_clone_is_idempotent,
    common.check_init_has_default_params_for_tests,
    common.check_init_default_params_are_not_mutable,
    common.check_doc,
    common.check_clone_changes_memory_addresses,
    common.check_mutate_can_be_idempotent,
    common.check_pickling_supports_roundtrip,
    common.check_repr_roundtrips_clone,
    common.check_clone_with_new_params_applies,
    common.check_get_params_matches_signature,
]
DATASET_CHECKS = [
    common.check_learn_one,
    common.check_pickling,
    common.check_shuffle_features_no_impact,
    common.check_emerging_features,
    common.check_disappearing_features,
    common.check_radically_disappearing_features,
    common.check_predict_one_pure,
    common.check_predict_one_before_any_learn,
    common.check_no_state_aliasing_with_input,
    common.check_clone_is_independent,
    common.check_bounded_memory_growth,
]


def telemetry(model: str, seconds: int = 400) -> list[tuple[dict, None]]:
    samples = plant.pump(seconds) if model == "CP-200" else plant.motor(seconds)
    return [(dict(s.metrics), None) for s in samples]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("check", PLAIN_CHECKS, ids=lambda c: c.__name__)
def test_river_contract(estimator, check):
    check(estimator.clone())


@pytest.mark.parametrize("estimator", ESTIMATORS[1:], ids=IDS[1:])
@pytest.mark.parametrize("check", DATASET_CHECKS, ids=lambda c: c.__name__)
def test_river_contract_on_telemetry(estimator, check):
    model = "CP-200" if "speed_rpm" == estimator.driver else "EM-75"
    check(estimator.clone(), dataset=telemetry(model))


def test_hyper_parameters_are_checked():
    with pytest.raises(ValueError):
        ConditionDetector(condition=("a",), thermal=("b",))
    with pytest.raises(ValueError):
        ConditionDetector(time_constants=(100.0, 10.0))
    with pytest.raises(ValueError):
        ConditionDetector(huber=0.0)


def test_assess_one_scores_as_score_one_then_learns_as_learn_one():
    a, b = detector_for("CP-200"), detector_for("CP-200")
    for sample in plant.pump(1200, seed=4):
        t = sample.ts.timestamp()
        expected = b.score_one(sample.metrics, t)
        b.learn_one(sample.metrics, t)
        assessment = a.assess_one(sample.metrics, t)
        assert (0.0 if assessment is None else assessment.score) == pytest.approx(expected, abs=1e-12)
    assert pickle.dumps(a) == pickle.dumps(b)


def test_nothing_is_scored_while_stopped_starting_or_warming_up():
    detector = detector_for("CP-200", warm_up=50)
    samples = plant.pump(400, seed=2)
    stopped = dict(samples[100].metrics, speed_rpm=0.0, flow_m3h=0.0, pressure_bar=0.0, motor_current_a=0.0)
    results = [detector.assess_one(s.metrics, s.ts.timestamp()) for s in samples[:200]]
    assert all(r is None for r in results[:30])  # settling after the first start
    assert all(r is not None and r.deviations == (0.0,) * 5 for r in results[30:80])  # warming up
    assert detector.assess_one(stopped, samples[200].ts.timestamp()) is None
    after = [detector.assess_one(s.metrics, s.ts.timestamp()) for s in samples[201:260]]
    assert all(r is None for r in after[:29]) and after[-1] is not None  # settling again after the restart


def test_stale_samples_are_ignored_and_change_nothing():
    detector = detector_for("EM-75")
    samples = plant.motor(300, seed=3)
    for s in samples:
        detector.assess_one(s.metrics, s.ts.timestamp())
    before = pickle.dumps(detector)
    assert detector.assess_one(samples[-1].metrics, samples[-1].ts.timestamp()) is None
    assert detector.assess_one(samples[10].metrics, samples[10].ts.timestamp()) is None
    assert pickle.dumps(detector) == before


def test_a_gap_in_the_data_restarts_the_thermal_state_and_keeps_the_baseline():
    """Ten minutes of a pump, five lost, five more: it went from 2,330 to 2,820 rpm late in the gap, its
    bearing still near the temperature of the slower speed when the data resumes."""
    samples, _ = plant.simulated("CP-200", 1199, seed="s2")
    before, after = samples[:600], samples[900:]
    assert after[0].metrics["speed_rpm"] - before[-1].metrics["speed_rpm"] > 400
    detector = detector_for("CP-200")
    bearing = detector.condition.index("bearing_temp_c")
    for s in before:
        detector.assess_one(s.metrics, s.ts.timestamp())
    learned = detector.n_learned
    assessed = []
    for s in after:
        t = s.ts.timestamp()
        score = detector.score_one(s.metrics, t)
        assessment = detector.assess_one(s.metrics, t)
        assert (0.0 if assessment is None else assessment.score) == pytest.approx(score, abs=1e-12)
        assessed.append(assessment)
    # restarted as after a start: nothing scored or learned while it settles, then scored at once (no new warm-up)
    assert all(a is None for a in assessed[: int(detector.settle)])
    assert all(a is not None for a in assessed[int(detector.settle) :])
    assert detector.n_learned > learned and detector.ready
    # the bearing is judged against its restarted state, not against where five blind minutes at the new speed
    # would have taken it: nothing near an alert
    assert max(a.score for a in assessed if a) < AlertDecision().raise_above
    assert max(abs(a.persistent[bearing]) for a in assessed if a) < 3.0
    first = next(a for a in assessed if a)
    assert abs(first.expected[bearing] - after[int(detector.settle)].metrics["bearing_temp_c"]) < 0.5


def test_an_interval_of_a_few_usual_ones_is_bridged_a_longer_one_is_a_gap():
    samples, _ = plant.simulated("CP-200", 1200, seed=3, operation=Operation(duty_cycles=False))
    detector = detector_for("CP-200", warm_up=50)
    for s in samples[:600]:
        detector.assess_one(s.metrics, s.ts.timestamp())
    # at a reading a second, 5 s without one (a quarter of the shortest lag considered) is bridged, 7 s is a gap
    assert detector.assess_one(samples[604].metrics, samples[604].ts.timestamp()) is not None
    assert detector.assess_one(samples[611].metrics, samples[611].ts.timestamp()) is None
    # an asset that reports every 10 s is scored on every reading once it has settled: its intervals are no gaps
    slow = detector_for("CP-200", warm_up=20)
    results = [slow.assess_one(s.metrics, s.ts.timestamp()) for s in samples[::10]]
    assert all(r is None for r in results[:3]) and all(r is not None for r in results[3:])


def test_learn_false_keeps_the_model_but_moves_the_clock():
    detector = detector_for("CP-200")
    samples = plant.pump(600, seed=5)
    for s in samples[:500]:
        detector.assess_one(s.metrics, s.ts.timestamp())
    frozen = copy.deepcopy(detector)
    for s in samples[500:]:
        frozen.assess_one(s.metrics, s.ts.timestamp(), learn=False)
    assert frozen.n_learned == detector.n_learned
    assert frozen._t == samples[-1].ts.timestamp()


def test_a_new_operating_point_is_learned_not_flagged():
    """Full speed for the warm-up, then straight to a speed never seen: low scores, quickly learned."""
    detector = detector_for("CP-200")
    samples = plant.pump(1200, seed=1, stops=False, setpoints=lambda t: 2950.0 if t < 400 else 2300.0)
    scores = [a.score for s in samples if (a := detector.assess_one(s.metrics, s.ts.timestamp())) and s.seq >= 400]
    assert sorted(scores)[-2] < 4.0  # the first reading at the new speed may stand out, no more
    assert sum(scores[:60]) / 60 < 2.5
    assert sum(scores[-200:]) / 200 < 2.0


def test_a_datasheet_limit_scores_at_once():
    detector = detector_for("CP-200")
    samples = plant.pump(300, seed=6, stops=False)
    for s in samples:
        detector.assess_one(s.metrics, s.ts.timestamp())
    hot = dict(samples[-1].metrics, bearing_temp_c=95.0)
    assert detector.score_one(hot, samples[-1].ts.timestamp() + 1) >= detector.limit_score


def test_an_unknown_model_is_watched_on_its_own_statistics():
    detector = ConditionDetector(condition=("a", "b"), warm_up=30)
    for t in range(300):
        detector.learn_one({"a": 1.0 + 0.01 * (t % 7), "b": 5.0 - 0.02 * (t % 5)}, t=t)
    assert detector.score_one({"a": 1.03, "b": 4.96}, t=300) < 3
    off = detector.assess_one({"a": 1.6, "b": 4.96}, t=300, learn=False)
    assert off.deviations[0] > 10 and abs(off.deviations[1]) < 3
    # one reading far off moves the persistent deviation by at most 12 x 0.18 / 0.315 (cap x weight / spread
    # of independent readings): not yet far; a few readings are
    assert 6 < off.score < 8
    for t in range(301, 306):
        off = detector.assess_one({"a": 1.6, "b": 4.96}, t=t, learn=False)
    assert off.score > 10 and abs(off.persistent[1]) < 3


def test_a_small_shift_that_lasts_scores_high_and_a_wandering_signal_is_followed():
    """Flow two healthy deviations down for half a minute persists; a temperature drifting slowly is no fault."""
    detector = ConditionDetector(condition=("flow", "temp"), warm_up=200)
    noise = [((t * 7919) % 13 - 6) / 6.0 for t in range(2000)]  # deterministic, zero mean, roughly uniform
    for t in range(600):
        detector.learn_one({"flow": 32.0 + 0.5 * noise[t], "temp": 70.0 + 0.002 * t + 0.02 * noise[t + 1]}, t=t)
    assert detector._wandering(1) and not detector._wandering(0)
    scores = [
        detector.assess_one({"flow": 32.0 - 0.7 + 0.5 * noise[t], "temp": 70.0 + 0.002 * t}, t=t, learn=False)
        for t in range(600, 640)
    ]
    assert max(abs(a.deviations[0]) for a in scores) < 4  # no single reading stands out
    assert scores[-1].persistent[0] < -6  # the shift does
    assert abs(scores[-1].persistent[1]) < 3
