"""A simulated fleet against the real broker: topics, payloads, status, Last Will, timing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from gateway.payloads import parse_telemetry
from simulators.equipment import Motor, Pump
from simulators.errors import ConfigRejected, FaultRejected
from simulators.faults import FaultSpec
from simulators.fleet import REGION, Fleet, FleetConfig, plan

MODEL_METRICS = {"CP-200": set(Pump.metrics), "EM-75": set(Motor.metrics)}


def _bodies(messages, suffix="/telemetry"):
    return [(m.topic, json.loads(m.payload)) for m in messages if m.topic.endswith(suffix)]


def test_devices_publish_valid_telemetry_on_their_topics(broker, watch):
    watcher = watch()
    fleet = Fleet(FleetConfig(**broker, devices=4, rate_hz=10, sites=2))
    with fleet:
        assert fleet.wait_online(5)
        watcher.wait_for(lambda ms: len(_bodies(ms)) >= 4 * 8)
    topics = {f"{broker['topic_root']}/{a.site_id}/{a.asset_id}/telemetry": a for a in fleet.assets}
    by_asset: dict[str, list] = {}
    for topic, body in _bodies(watcher.messages):
        asset = topics[topic]
        # The gateway's own edge validation accepts every message.
        (sample,) = parse_telemetry(asset.asset_id, json.dumps(body).encode(), now=datetime.now(UTC))
        assert set(sample.metrics) == MODEL_METRICS[asset.model]
        by_asset.setdefault(asset.asset_id, []).append(sample)
    assert set(by_asset) == {a.asset_id for a in fleet.assets}
    for samples in by_asset.values():
        assert [s.seq for s in samples] == list(range(len(samples)))
        gaps = [(b.ts - a.ts).total_seconds() for a, b in zip(samples, samples[1:], strict=False)]
        assert all(g == pytest.approx(0.1, abs=0.002) for g in gaps)
        assert abs(samples[0].ts - fleet.started_at) < timedelta(seconds=0.2)
    assert sum(fleet.published.values()) >= len(_bodies(watcher.messages))


def test_batch_mode_sends_several_samples_per_message(broker, watch):
    watcher = watch()
    with Fleet(FleetConfig(**broker, devices=2, rate_hz=20, batch=5, qos=0)) as fleet:
        watcher.wait_for(lambda ms: len(_bodies(ms)) >= 6)
    assert all(a.expected_interval_s == 0.25 for a in fleet.assets)
    for topic, body in _bodies(watcher.messages):
        assert isinstance(body, list) and 1 <= len(body) <= 5
        asset_id = topic.split("/")[-2]
        samples = parse_telemetry(asset_id, json.dumps(body).encode(), now=datetime.now(UTC))
        assert [s.seq for s in samples] == list(range(samples[0].seq, samples[0].seq + len(samples)))
    assert all(len(body) == 5 for _, body in _bodies(watcher.messages)[:-2])


def test_status_is_retained_online_then_offline_after_a_clean_stop(broker, watch):
    fleet = Fleet(FleetConfig(**broker, devices=3, rate_hz=2))
    statuses = {f"{broker['topic_root']}/{a.site_id}/{a.asset_id}/status" for a in fleet.assets}
    fleet.start()
    try:
        assert fleet.wait_online(5)
        assert fleet.online == 3
        late = watch()  # subscribes after the devices announced themselves
        seen = late.wait_for(lambda ms: {m.topic for m in ms if m.payload == b"online"} == statuses)
        assert all(m.retain for m in seen if m.topic in statuses)
    finally:
        fleet.stop()
    assert fleet.online == 0
    late.wait_for(lambda ms: {m.topic for m in ms if m.payload == b"offline"} == statuses)
    after = watch()
    retained = after.wait_for(lambda ms: {m.topic for m in ms} >= statuses)
    assert {m.topic: (m.payload, m.retain) for m in retained if m.topic in statuses} == {
        t: (b"offline", True) for t in statuses
    }


def test_a_lost_connection_publishes_the_last_will_and_the_device_comes_back(broker, watch):
    watcher = watch()
    with Fleet(FleetConfig(**broker, devices=2, rate_hz=5)) as fleet:
        assert fleet.wait_online(5)
        device = fleet.device("pump-002")
        status = device.topics.status
        watcher.wait_for(lambda ms: any(m.topic == status and m.payload == b"online" for m in ms))
        device.cut_connection()
        watcher.wait_for(lambda ms: [m.payload for m in ms if m.topic == status] == [b"online", b"offline"])
        assert [m.payload for m in watcher.on("pump-001/status")] == [b"online"]
        watcher.wait_for(lambda ms: [m.payload for m in ms if m.topic == status][-1:] == [b"online"], timeout=8)
        assert device.wait_online(5)
        sent = device.published
        watcher.wait_for(lambda ms: len(_bodies(ms, "pump-002/telemetry")) >= sent)
    seqs = [body["seq"] for _, body in _bodies(watcher.messages, "pump-002/telemetry")]
    assert sorted(set(seqs)) == list(range(max(seqs) + 1)), "QoS 1 samples queued while away are delivered"


def test_a_fleet_of_25_at_5_hz_keeps_time(broker, watch):
    watcher = watch()
    fleet = Fleet(FleetConfig(**broker, devices=25, rate_hz=5))
    began = time.monotonic()
    with fleet:
        assert fleet.wait_online(5)
        time.sleep(2.0)
        elapsed = time.monotonic() - began
    started, published = fleet.started_at, fleet.published
    assert all(elapsed * 5 - 1 <= n <= elapsed * 5 + 1 for n in published.values()), (elapsed, published)
    received = watcher.wait_for(lambda ms: len(_bodies(ms)) >= sum(published.values()))
    stamps = sorted(datetime.fromisoformat(body["ts"]) for _, body in _bodies(received))
    assert abs(stamps[0] - started) < timedelta(milliseconds=1)  # stamped to the millisecond
    assert len(set(stamps)) == len(stamps), "devices are spread over the period"


def test_fault_ground_truth_is_exposed_in_wall_clock_time(broker):
    fault = FaultSpec("pump-003", "bearing_wear", 30, 900)
    fleet = Fleet(FleetConfig(**broker, devices=5, faults=["pump-003:bearing_wear@30+900"]))
    (before,) = fleet.faults
    assert before.spec == fault and before.failure_at is None and before.spec.failure_s == 930
    with fleet:
        (truth,) = fleet.faults
    assert (truth.asset_id, truth.mode) == ("pump-003", "bearing_wear")
    assert truth.onset_at - fleet.started_at == pytest.approx(timedelta(seconds=30), abs=timedelta(seconds=1))
    assert truth.failure_at - truth.onset_at == timedelta(seconds=900)


def test_the_fleet_plan_mixes_pumps_and_motors_over_sites_in_one_region():
    assets = plan(FleetConfig(devices=12, sites=3, rate_hz=2, seed=4))
    assert [a.asset_id for a in assets[:6]] == [
        "pump-001", "pump-002", "motor-001", "pump-003", "pump-004", "motor-002"]
    assert sum(a.kind == "pump" for a in assets) == 8
    assert {a.site_id for a in assets} == {"site-1", "site-2", "site-3"}
    assert {(a.kind, a.model) for a in assets} == {("pump", "CP-200"), ("motor", "EM-75")}
    for a in assets:
        assert abs(a.lat - REGION[0]) < 0.3 and abs(a.lon - REGION[1]) < 0.4
        assert a.expected_interval_s == 0.5
    assert assets == plan(FleetConfig(devices=12, sites=3, rate_hz=2, seed=4))
    with pytest.raises(AttributeError):
        assets[0].lat = 0.0


@pytest.mark.parametrize("config, error, reason", [
    ({"faults": (FaultSpec("pump-009", "seal_leak", 5),)}, FaultRejected, "no asset 'pump-009' in this fleet of 6"),
    ({"faults": (FaultSpec("motor-001", "cavitation", 5),)}, FaultRejected,
     "motor-001: cavitation does not apply to a motor"),
    ({"topic_root": "fleet/#"}, ConfigRejected, "wildcards"),
    ({"topic_root": ""}, ConfigRejected, "invalid topic root"),
    ({"devices": 0}, ConfigRejected, "devices must be 1..10000"),
    ({"rate_hz": 0}, ConfigRejected, "rate_hz"),
    ({"qos": 3}, ConfigRejected, "qos"),
    ({"batch": 0}, ConfigRejected, "batch"),
    ({"faults": (42,)}, FaultRejected, "FaultSpec"),
    ({"faults": ("pump-001:seal_leak",)}, FaultRejected, "expected ASSET:MODE@SECONDS"),
])
def test_bad_fleet_configurations_are_rejected(config, error, reason):
    with pytest.raises(error, match=reason):
        Fleet(FleetConfig(**config))
