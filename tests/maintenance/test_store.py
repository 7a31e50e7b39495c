"""The monitoring store against the real PostgreSQL: round trips, idempotence, the caller's transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from maintenance import store
from maintenance.equipment import DATASHEET
from maintenance.monitor import AssetScore, ConditionMonitor
from telemetry.store import provision_device
from tests.maintenance.plant import EPOCH, HISTORY, feed, simulated


@pytest.fixture(scope="module")
def alert():
    """A real alert, from a simulated pump wearing its bearing."""
    samples, _ = simulated("CP-200", HISTORY + 600, seed=21, fault="bearing_wear", start=HISTORY)
    return feed(ConditionMonitor(window=60), samples).alerts[0]


def scores(asset_id: str, n: int, start: int = 0) -> list[AssetScore]:
    """One per second; every tenth unassessed (the unit stopped)."""
    return [
        AssetScore(asset_id, EPOCH + timedelta(seconds=i), None if i % 10 == 0 else i / 100)
        for i in range(start, start + n)
    ]


@pytest.mark.asyncio
async def test_the_seeded_limits_are_the_datasheet(aconn):
    assert await store.load_limits(aconn) == DATASHEET


@pytest.mark.asyncio
async def test_writing_scores_is_idempotent(aconn):
    assert await store.write_scores(aconn, scores("P-1", 500)) == 500
    assert await store.write_scores(aconn, scores("P-1", 500)) == 0
    assert await store.write_scores(aconn, scores("P-1", 100, start=450)) == 50
    assert await store.write_scores(aconn, []) == 0
    cur = await aconn.execute("select count(*), count(score) from maintenance.scores")
    assert await cur.fetchone() == (550, 495)


@pytest.mark.asyncio
async def test_nothing_is_committed_behind_the_callers_back(aconn):
    await store.write_scores(aconn, scores("P-1", 10))
    await store.save_states(aconn, {"P-1": b"state"})
    await aconn.rollback()
    cur = await aconn.execute(
        "select (select count(*) from maintenance.scores), (select count(*) from maintenance.detector_state)"
    )
    assert await cur.fetchone() == (0, 0)


@pytest.mark.asyncio
async def test_latest_scores_are_the_newest_assessed(aconn):
    for asset_id in ("P-1", "M-1", "Q-7"):
        await provision_device(aconn, asset_id=asset_id, site_id="S-1", model="CP-200")
    await store.write_scores(aconn, scores("P-1", 25) + scores("M-1", 11))  # M-1 ends on an unassessed sample
    latest = await store.latest_scores(aconn)
    assert latest == {
        "P-1": (EPOCH + timedelta(seconds=24), 0.24),
        "M-1": (EPOCH + timedelta(seconds=9), 0.09),
    }
    assert await store.latest_scores(aconn, ["M-1", "nobody"]) == {"M-1": latest["M-1"]}
    assert await store.latest_scores(aconn, []) == {}


@pytest.mark.asyncio
async def test_alerts_round_trip_and_clear(aconn, alert):
    alert_id = await store.record_alert(aconn, alert)
    assert await store.record_alert(aconn, alert) == alert_id  # the same open alert is not stored twice

    [row] = await store.open_alerts(aconn, "P-1")
    assert (row.id, row.asset_id, row.failure_mode) == (alert_id, "P-1", "bearing_wear")
    assert (row.raised_at, row.score, row.cleared_at) == (alert.raised_at, alert.score, None)
    assert [s["metric"] for s in row.signals] == [s.metric for s in alert.signals]
    assert row.signals[0]["deviation"] == alert.signals[0].deviation
    assert row.time_to_failure == {
        "hours": alert.time_to_failure.hours,
        "low": alert.time_to_failure.low,
        "high": alert.time_to_failure.high,
        "metric": alert.time_to_failure.metric,
    }
    assert row.recent_samples == list(alert.window)
    assert await store.open_alerts(aconn, "M-1") == []
    assert [r.id for r in await store.open_alerts(aconn)] == [alert_id]

    at = alert.raised_at + timedelta(minutes=30)
    assert await store.clear_alert(aconn, alert_id, at) is True
    assert await store.clear_alert(aconn, alert_id, at) is False
    assert await store.open_alerts(aconn) == []
    assert await store.record_alert(aconn, alert) != alert_id  # a new episode is a new alert


@pytest.mark.asyncio
async def test_states_round_trip_and_a_restored_monitor_carries_on(aconn):
    samples, _ = simulated("EM-75", 3000, seed=22)
    monitor = ConditionMonitor()
    feed(monitor, samples[:2000])
    await store.save_states(aconn, {"M-1": b"older"})
    await store.save_states(aconn, {asset_id: monitor.checkpoint(asset_id) for asset_id in monitor.assets})
    await store.save_states(aconn, {})

    loaded = await store.load_states(aconn, ["M-1", "P-1"])
    assert set(loaded) == {"M-1"}
    restored = ConditionMonitor()
    restored.restore("M-1", loaded["M-1"])
    rest = samples[2000:]
    assert [(s.score, s.state) for s in feed(restored, rest).scores] == [
        (s.score, s.state) for s in feed(monitor, rest).scores
    ]
