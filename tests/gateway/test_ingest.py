"""The gateway against the real broker and database: good data stored, bad data dead-lettered, nothing twice."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway import store as dead_letters
from tests.mqtt_tools import publish


def _sample(seq: int, ts: datetime, **metrics: float) -> str:
    return json.dumps({"ts": ts.isoformat().replace("+00:00", "Z"), "seq": seq, "metrics": metrics})


async def _count(pool, sql: str, **params) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return (await cur.fetchone())[0]


BAD = {
    "bad JSON": ("pump-001/telemetry", b'{"ts": 1, "metrics": {', "invalid JSON"),
    "wrong type": ("pump-001/telemetry", b'{"ts": "2026-01-01T00:00:00Z", "metrics": {"flow_m3h": "fast"}}',
                   "metrics.flow_m3h: Input should be a valid number"),
    "NaN": ("pump-001/telemetry", b'{"ts": "2026-01-01T00:00:00Z", "metrics": {"flow_m3h": NaN}}', "finite number"),
    "infinity": ("pump-001/telemetry", b'{"ts": "2026-01-01T00:00:00Z", "metrics": {"flow_m3h": Infinity}}',
                 "finite number"),
    "future": ("pump-001/telemetry", b'{"ts": "2099-01-01T00:00:00Z", "metrics": {"flow_m3h": 1}}', "in the future"),
    "unknown asset": ("pump-999/telemetry", b'{"ts": "2026-01-01T00:00:00Z", "metrics": {"flow_m3h": 1}}',
                      "unknown or not provisioned"),
    "body names another asset": (
        "pump-001/telemetry", b'{"ts": "2026-01-01T00:00:00Z", "asset_id": "pump-002", "metrics": {"flow_m3h": 1}}',
        "body names asset 'pump-002' but the topic names 'pump-001'"),
    "wrong status": ("pump-001/status", b"sleepy", "status must be 'online' or 'offline'"),
    "unknown channel": ("pump-001/gossip", b"{}", "unknown channel 'gossip'"),
}


@pytest.mark.asyncio
async def test_bad_payloads_are_dead_lettered_with_reasons_and_good_ones_around_them_stored(
    running_gateway, pool, mqtt_url, topic_root
):
    now = datetime.now(UTC).replace(microsecond=0)
    base = f"{topic_root}/site-1/"
    messages = [(base + "pump-001/telemetry", _sample(1, now - timedelta(seconds=3), flow_m3h=120.0, pressure_bar=6.0))]
    for suffix, payload, _ in BAD.values():
        messages.append((base + suffix, payload))
    messages.append((f"{topic_root}/site-9/pump-001/telemetry", _sample(2, now, flow_m3h=1.0)))  # wrong site
    messages.append((f"{topic_root}/too/deep/pump-001/telemetry/x", b"{}"))  # malformed topic
    messages.append((base + "pump-002/telemetry", _sample(7, now - timedelta(seconds=1), flow_m3h=118.5)))
    await asyncio.to_thread(publish, mqtt_url, messages)
    await running_gateway.wait_for(len(messages))

    async with pool.connection() as conn:
        letters = await dead_letters.get_dead_letters(conn)
    reasons = [letter.reason for letter in letters]
    for name, (_, _payload, expected) in BAD.items():
        assert any(expected in r for r in reasons), f"{name}: no dead letter says {expected!r} in {reasons}"
    assert any("belongs to site 'site-1', not 'site-9'" in r for r in reasons)
    assert any("does not match" in r for r in reasons)
    assert len(letters) == len(BAD) + 2
    bad_json = next(letter for letter in letters if "invalid JSON" in letter.reason)
    assert bytes(bad_json.payload) == b'{"ts": 1, "metrics": {'
    assert bad_json.topic == base + "pump-001/telemetry"

    assert await _count(pool, "select count(*) from telemetry.readings") == 3
    assert await _count(pool, "select count(*) from telemetry.readings where asset_id = 'pump-002'") == 1
    # the gateway is still running: a good message after all that is stored too
    await asyncio.to_thread(publish, mqtt_url, [(base + "pump-001/telemetry", _sample(9, now, flow_m3h=121.0))])
    await running_gateway.wait_for(len(messages) + 1)
    assert await _count(pool, "select count(*) from telemetry.readings") == 4


@pytest.mark.asyncio
async def test_a_resent_message_creates_no_duplicate(running_gateway, pool, mqtt_url, topic_root):
    now = datetime.now(UTC).replace(microsecond=0)
    topic = f"{topic_root}/site-1/pump-001/telemetry"
    body = _sample(5, now, flow_m3h=120.0, pressure_bar=6.1, speed_rpm=2950.0)
    await asyncio.to_thread(publish, mqtt_url, [(topic, body), (topic, body)])
    batch = json.dumps([json.loads(body), json.loads(_sample(6, now + timedelta(seconds=-1), flow_m3h=119.0))])
    await asyncio.to_thread(publish, mqtt_url, [(topic, batch)])
    await running_gateway.wait_for(3)
    assert await _count(pool, "select count(*) from telemetry.readings") == 4
    assert await _count(pool, "select count(*) from gateway.dead_letters") == 0


@pytest.mark.asyncio
async def test_a_batch_handled_twice_is_stored_once(running_gateway, pool, topic_root):
    from gateway.mqtt import Delivery

    now = datetime.now(UTC).replace(microsecond=0)
    body = json.dumps([json.loads(_sample(i, now - timedelta(seconds=i), vibration_rms_mm_s=2.0 + i)) for i in range(5)])
    batch = [Delivery(f"{topic_root}/site-1/pump-002/telemetry", body.encode(), mid=1, qos=1, retain=False)]
    first = await running_gateway.gateway.handle(batch)
    again = await running_gateway.gateway.handle(batch)  # what a QoS 1 redelivery does
    assert len(first.samples) == len(again.samples) == 5
    assert await _count(pool, "select count(*) from telemetry.readings") == 5


@pytest.mark.asyncio
async def test_messages_published_while_the_gateway_is_down_are_stored_on_restart(
    running_gateway, pool, mqtt_url, topic_root, keeps_offline_sessions
):
    if not keeps_offline_sessions:
        pytest.skip("this broker (amqtt) does not queue messages for a disconnected persistent session")
    await running_gateway.stop()
    now = datetime.now(UTC).replace(microsecond=0)
    topic = f"{topic_root}/site-1/pump-001/telemetry"
    await asyncio.to_thread(
        publish, mqtt_url, [(topic, _sample(i, now - timedelta(seconds=20 - i), flow_m3h=100.0 + i)) for i in range(20)]
    )
    await running_gateway.start()  # same client id: the broker kept the session and its messages
    await running_gateway.wait_for(20)
    assert await _count(pool, "select count(*) from telemetry.readings") == 20


@pytest.mark.asyncio
async def test_connectivity_follows_status_topic_and_silence(running_gateway, pool, mqtt_url, topic_root):
    from telemetry import store

    base = f"{topic_root}/site-1"
    now = datetime.now(UTC)
    await asyncio.to_thread(
        publish, mqtt_url, [(f"{base}/pump-001/status", "online"), (f"{base}/pump-002/status", "offline"),
                            (f"{base}/pump-001/telemetry", _sample(1, now - timedelta(seconds=30), flow_m3h=1.0))]
    )
    await running_gateway.wait_for(3)
    async with pool.connection() as conn:
        devices = {d.asset_id: d for d in await store.get_devices(conn)}
        assert devices["pump-001"].connection == "online"
        assert devices["pump-001"].last_seq == 1
        assert devices["pump-002"].connection == "offline"
        # pump-001 last spoke 30 s ago and reports every second: five missed intervals make it stale
        stale = await store.mark_stale(conn, now=datetime.now(UTC), missed_intervals=5)
    assert stale == ["pump-001"]


@pytest.mark.asyncio
async def test_messages_received_but_not_committed_when_the_gateway_dies_are_delivered_again(
    running_gateway, pool, conn, mqtt_url, topic_root, keeps_offline_sessions
):
    if not keeps_offline_sessions:
        pytest.skip("this broker (amqtt) does not queue messages for a disconnected persistent session")
    now = datetime.now(UTC).replace(microsecond=0)
    topic = f"{topic_root}/site-1/pump-001/telemetry"
    conn.execute("begin")
    conn.execute("lock table telemetry.readings in access exclusive mode")  # the write will hang
    await asyncio.to_thread(
        publish, mqtt_url, [(topic, _sample(i, now - timedelta(seconds=10 - i), flow_m3h=100.0 + i)) for i in range(10)]
    )
    await asyncio.sleep(1.0)  # received, stuck in the write, not acknowledged
    await running_gateway.crash()  # the gateway dies mid-batch
    conn.execute("rollback")
    assert await _count(pool, "select count(*) from telemetry.readings") == 0

    await running_gateway.start()  # same client id: the broker delivers the unacknowledged messages again
    for _ in range(100):
        if await _count(pool, "select count(*) from telemetry.readings") == 10:
            break
        await asyncio.sleep(0.1)
    assert await _count(pool, "select count(*) from telemetry.readings") == 10
