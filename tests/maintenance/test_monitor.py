"""The monitor over simulated pumps and motors: quiet when healthy, early and right when not."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest

from maintenance.errors import StateRejected, UnknownAsset
from maintenance.monitor import CHECKPOINT_VERSION, ConditionMonitor
from simulators.operation import Operation
from tests.maintenance import plant
from tests.maintenance.plant import EPOCH, HISTORY, MODELS, Fault, feed, simulated

# fault -> the signal that must be among the alert's
FAULTS = {
    ("CP-200", "bearing_wear"): "vibration_rms_mm_s",
    ("CP-200", "imbalance"): "vibration_rms_mm_s",
    ("CP-200", "cavitation"): "pressure_bar",
    ("CP-200", "seal_leak"): "pressure_bar",
    ("EM-75", "bearing_wear"): "vibration_rms_mm_s",
    ("EM-75", "imbalance"): "vibration_rms_mm_s",
    ("EM-75", "overheating"): "winding_temp_c",
}
# recognised by what does not deviate, so held back up to three minutes for a lagging signal
PATIENT = {"imbalance"}


def seconds(ts) -> float:
    return (ts - EPOCH).total_seconds()


@pytest.mark.parametrize("model", ["CP-200", "EM-75"])
def test_a_healthy_asset_raises_nothing(model):
    """Six hours with operating-point changes every few minutes, duty cycles, noise and ambient drift."""
    samples, _ = simulated(model, 6 * 3600, seed=11)
    result = feed(ConditionMonitor(), samples)
    assert result.alerts == [] and result.cleared == []
    assert len(result.scores) == len(samples)
    unassessed = sum(s.score is None for s in result.scores)
    assert 0.03 * len(samples) < unassessed < 0.3 * len(samples)  # the stops and start-ups


@pytest.mark.parametrize(("model", "mode"), list(FAULTS))
def test_each_fault_is_raised_early_with_its_mode(model, mode):
    samples, fault = simulated(model, HISTORY + 900, seed=7, fault=mode, start=HISTORY + 137)
    result = feed(ConditionMonitor(), samples)

    assert len(result.alerts) == 1
    alert = result.alerts[0]
    delay = seconds(alert.raised_at) - fault.start_s
    assert alert.failure_mode == mode
    assert 0 < delay <= (240 if mode in PATIENT else 150)
    assert seconds(alert.raised_at) < fault.failure_s - 300
    assert FAULTS[(model, mode)] in {s.metric for s in alert.signals}
    assert alert.time_to_failure is not None


def test_a_blocked_line_is_raised_early_as_a_blockage():
    fault = Fault("blockage", onset=HISTORY + 137)
    samples = plant.pump(HISTORY + 900, seed=7, fault=fault)
    [alert] = feed(ConditionMonitor(), samples).alerts
    assert alert.failure_mode == "blockage"
    assert 0 < seconds(alert.raised_at) - fault.onset <= 150
    # raised on the persistent deviation, while each reading of the flow is still only a few deviations short
    assert alert.signals[0].metric == "flow_m3h" and alert.signals[0].deviation < -3


@pytest.mark.parametrize(("model", "mode"), list(FAULTS))
def test_time_to_failure_is_near_the_truth(model, mode):
    """At a held duty, where every fault's main signal reaches its failure level on time.

    The simulated damage accelerates (severity = 0.75 p + 0.25 p²) while the estimate extends
    the trend of the first minutes in a straight line: it runs long by up to half.
    """
    held = Operation(change_every_s=None, level=1.0)
    samples, fault = simulated(model, 3600 + 900, seed=3, fault=mode, start=3600 + 71, operation=held)
    [alert] = feed(ConditionMonitor(), samples).alerts
    remaining = fault.failure_s - seconds(alert.raised_at)
    ttf = alert.time_to_failure
    assert 0.75 * remaining <= ttf.hours * 3600 <= 1.6 * remaining
    assert ttf.low <= ttf.hours <= ttf.high


def test_the_alert_carries_its_evidence():
    samples, _ = simulated("CP-200", HISTORY + 600, seed=8, fault="bearing_wear", start=HISTORY + 60)
    monitor = ConditionMonitor(window=90)
    [alert] = feed(monitor, samples).alerts
    assert alert.asset_id == "P-1"
    assert alert.score >= monitor.decision.raise_above
    assert len(alert.window) == 90
    newest = alert.window[-1]
    assert newest["ts"] == alert.raised_at.isoformat() and newest["score"] > 4
    assert set(newest["metrics"]) == set(samples[0].metrics)
    vibration = next(s for s in alert.signals if s.metric == "vibration_rms_mm_s")
    assert vibration.deviation > 4 and vibration.value > vibration.baseline and vibration.limit == 7.1
    assert abs(vibration.deviation) == max(abs(s.deviation) for s in alert.signals)
    assert alert.time_to_failure.metric == "vibration_rms_mm_s"


def test_a_single_wild_reading_does_not_raise():
    samples, _ = simulated("CP-200", HISTORY, seed=9)
    # well into a run, long after a start
    steady = [i for i in range(3600, len(samples)) if all(s.metrics["speed_rpm"] > 2100 for s in samples[i - 60 : i])]
    wild = [{"vibration_rms_mm_s": 45.0}, {"pressure_bar": 0.0}, {"bearing_temp_c": 180.0}, {"flow_m3h": 0.0}]
    for i, reading in zip(steady[::600], wild, strict=False):
        samples[i] = plant.Sample("P-1", samples[i].ts, {**samples[i].metrics, **reading}, samples[i].seq)
    result = feed(ConditionMonitor(), samples)
    assert result.alerts == []
    assert sum(s.score is not None and s.score >= 12 for s in result.scores) == 4


def test_an_alert_clears_once_the_cause_has_gone():
    fault = Fault("imbalance", onset=HISTORY, until=HISTORY + 330)
    samples = plant.motor(HISTORY + 900, seed=10, fault=fault)
    result = feed(ConditionMonitor(), samples)
    assert [a.failure_mode for a in result.alerts] == ["imbalance"]
    assert len(result.cleared) == 1
    cleared = result.cleared[0]
    assert (cleared.asset_id, cleared.failure_mode) == ("M-1", "imbalance")
    # debounced: the level has to stay low for a minute after the vibration has gone
    assert fault.until + 60 <= seconds(cleared.cleared_at) <= fault.until + 200


def test_a_checkpoint_restored_elsewhere_scores_identically():
    samples, _ = simulated("EM-75", 6300, seed=12, fault="overheating", start=5400)
    first, rest = samples[:4000], samples[4000:]
    original = ConditionMonitor()
    feed(original, first)
    moved = ConditionMonitor()
    moved.restore("M-1", pickle.loads(pickle.dumps(original.checkpoint("M-1"))))
    a, b = feed(original, rest), feed(moved, rest)
    assert [(s.ts, s.score, s.state, s.transition) for s in a.scores] == [
        (s.ts, s.score, s.state, s.transition) for s in b.scores
    ]
    assert a.alerts == b.alerts and len(a.alerts) == 1


def test_samples_already_seen_are_skipped():
    samples, _ = simulated("CP-200", 599, seed=13)
    monitor = ConditionMonitor()
    assert len(feed(monitor, samples).scores) == 600
    assert monitor.process(samples[-100:], MODELS).scores == []
    later = plant.Sample("P-1", samples[-1].ts + timedelta(seconds=1), samples[-1].metrics, 600)
    assert len(monitor.process([later], MODELS).scores) == 1


def test_assets_in_one_batch_are_watched_independently():
    pump, _ = simulated("CP-200", 1800, seed=14)
    motor, _ = simulated("EM-75", 1800, seed=14)
    mixed = [s for pair in zip(pump, motor, strict=True) for s in pair]
    together = feed(ConditionMonitor(), mixed)
    alone = feed(ConditionMonitor(), pump).scores + feed(ConditionMonitor(), motor).scores
    assert sorted(together.scores, key=lambda s: (s.asset_id, s.ts)) == sorted(alone, key=lambda s: (s.asset_id, s.ts))
    assert ConditionMonitor().assets == ()


def test_rebaseline_learns_the_asset_afresh():
    samples = plant.pump(900, seed=15, stops=False)
    monitor = ConditionMonitor()
    feed(monitor, samples[:600])
    monitor.rebaseline("P-1")
    assert monitor.assets == ()
    scores = feed(monitor, samples[600:]).scores
    assert all(s.score is None for s in scores[:30])  # settling, as after any first start
    assert all(s.score == 0.0 for s in scores[30:150])  # warming up: nothing to compare with yet


def test_an_unknown_model_is_watched_on_what_it_sends():
    motor, _ = simulated("EM-75", 599, seed=16, operation=Operation(duty_cycles=False))
    samples = [plant.Sample("X-9", s.ts, {"vibration_rms_mm_s": s.metrics["vibration_rms_mm_s"]}, s.seq) for s in motor]
    result = ConditionMonitor().process(samples, {})
    assert len(result.scores) == 600 and result.alerts == []


def test_checkpoints_are_checked():
    monitor = ConditionMonitor()
    with pytest.raises(UnknownAsset):
        monitor.checkpoint("nope")
    with pytest.raises(StateRejected):
        monitor.restore("P-1", b"not a checkpoint")
    with pytest.raises(StateRejected):
        monitor.restore("P-1", pickle.dumps((CHECKPOINT_VERSION + 1, None)))


def test_a_checkpoint_written_before_gaps_restarted_the_thermal_state_is_restored():
    """Written when the thermal state held no unexplained part of the temperatures: restored, it scores on."""
    samples, _ = simulated("EM-75", 1800, seed=12)
    original = ConditionMonitor()
    feed(original, samples[:1200])
    version, watch = pickle.loads(original.checkpoint("M-1"))
    detector, thermal = watch.detector, watch.detector._thermal
    for name in ("_interval", "_restarting", "_restart_count"):
        del detector.__dict__[name]
    features = thermal.weights.shape[2]
    detector._heat = detector._heat[:, :features]
    thermal._rates = (thermal._rates[0], thermal._rates[1][:, :features])
    moved = ConditionMonitor()
    moved.restore("M-1", pickle.dumps((version, watch)))
    a, b = feed(original, samples[1200:]), feed(moved, samples[1200:])
    assert [(s.ts, s.score, s.state) for s in a.scores] == [(s.ts, s.score, s.state) for s in b.scores]


def test_completed_work_makes_the_asset_learned_afresh_once():
    samples, _ = simulated("CP-200", 900, seed=14)
    monitor = ConditionMonitor()
    feed(monitor, samples[:600])
    last = samples[599].ts
    assert not monitor.maintained("nobody", last)
    assert monitor.maintained("P-1", last)  # the baseline was learned before the work
    assert not monitor.maintained("P-1", last)  # the same work again changes nothing
    result = feed(monitor, samples[600:])
    # learned afresh: nothing is scored until the start-up settle and the warm-up are over
    unscored = [not s.score for s in result.scores]
    assert unscored[:150] == [True] * 150 and not all(unscored)
    # a baseline begun after the work is kept
    later = ConditionMonitor()
    feed(later, samples[600:])
    assert not later.maintained("P-1", last)


def test_an_overheating_alert_clears_once_the_winding_has_cooled():
    fault = Fault("overheating", onset=HISTORY, until=HISTORY + 330)
    result = feed(ConditionMonitor(), plant.motor(HISTORY + 1500, seed=10, fault=fault))
    assert [a.failure_mode for a in result.alerts] == ["overheating"]
    [cleared] = result.cleared
    # a winding cools with its thermal lag: minutes, not seconds, after the cause has gone
    assert fault.until + 60 <= seconds(cleared.cleared_at) <= fault.until + 1200
