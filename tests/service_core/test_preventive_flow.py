"""Alert -> preventive order with evidence -> best engineer -> outbox -> MQTT (real broker) -> engineer's list."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiomqtt
import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.mqtt import BrokerAddress
from maintenance import store as maintenance_store
from service_core.errors import NotFound, Unprocessable
from service_core.notifications import service as notifications
from service_core.notifications.publisher import run_publisher
from service_core.workorders import service
from service_core.workorders.flows import open_preventive_order, priority_for
from tests.service_core.builders import FAR, MID, NEAR, a_site, an_alert, an_asset, an_engineer

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def _unique_engineer_ids(conn: psycopg.Connection) -> None:
    """Engineer ids no other test (or other run on the same broker) uses, so each test has its own topics."""
    conn.execute(
        "select setval(pg_get_serial_sequence('service.engineers', 'id'), %s)", (random.randrange(10**6, 10**12),)
    )


async def _team(conn: psycopg.AsyncConnection) -> dict[str, int]:
    site = await a_site(conn)
    await an_asset(conn, site=site, asset_id="pump-001")
    team = {
        "far expert": await an_engineer(conn, name="Far expert", skills={"mechanical": 5}, home=FAR),
        "near junior": await an_engineer(conn, name="Near junior", skills={"mechanical": 2}, home=NEAR),
        "mid senior": await an_engineer(conn, name="Mid senior", skills={"mechanical": 4}, home=MID),
        "electrician": await an_engineer(conn, name="Electrician", skills={"electrical": 5}, home=NEAR),
        "inactive": await an_engineer(conn, name="Away", skills={"mechanical": 5}, home=NEAR, active=False),
    }
    return {name: e.id for name, e in team.items()}


@pytest.mark.asyncio
async def test_alert_opens_an_assigned_order_with_its_evidence(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        team = await _team(aconn)
        alert = an_alert(ttf_hours=18.0)
        alert_id = await maintenance_store.record_alert(aconn, alert)
        opened = await open_preventive_order(aconn, alert=alert, alert_id=alert_id, now=NOW)

    assert opened is not None
    assert opened.priority == "urgent" and opened.due_at == datetime(2025, 3, 4, 20, 48, tzinfo=UTC)
    # near junior: 20 + 39.6 + 0 + 20 ~ 79.6; mid senior: 40 + ~28.5 + 20 ~ 88.5; far expert: 50 + ~16 + 20 ~ 86
    assert opened.engineer_id == team["mid senior"]
    assert opened.dispatch.breakdown.skill == 40.0

    order = await service.get(aconn, work_order_id=opened.work_order_id)
    assert (order.type, order.status, order.failure_mode) == ("preventive", "assigned", "bearing_wear")
    assert order.alert_id == alert_id
    assert order.evidence["score"] == 0.93
    assert order.evidence["signals"][0] == {
        "metric": "vibration_rms_mm_s", "value": 7.8, "baseline": 2.1, "deviation": 6.4, "limit": 11.2
    }
    assert order.evidence["time_to_failure"]["hours"] == 18.0
    assert order.evidence["window"] == list(alert.window)
    assert order.evidence["raised_at"] == "2025-03-04T10:00:00+00:00"
    assert "vibration_rms_mm_s: 7.8 vs baseline 2.1" in order.description

    events = await service.get_events(aconn, work_order_id=order.id)
    assert [(e.kind, e.actor, e.to_status) for e in events] == [
        ("created", "detector", "new"), ("assigned", "dispatch", "assigned")
    ]
    assert events[1].details["breakdown"] == {
        "skill": opened.dispatch.breakdown.skill,
        "distance": opened.dispatch.breakdown.distance,
        "load": 0.0,
        "availability": 20.0,
        "sla": 0.0,  # no SLA policy in this fleet
        "preference": 0.0,
        "parts": 0.0,  # the order needs no parts
    }
    assert events[1].note.startswith("Mid senior")

    note = await notifications.get(aconn, notification_id=opened.notification_id)
    assert note.topic == f"fleetcare/engineers/{team['mid senior']}/orders" and note.sent_at is None
    assert note.payload["work_order_id"] == order.id and note.payload["priority"] == "urgent"


@pytest.mark.asyncio
async def test_load_moves_the_next_order_to_someone_else(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        team = await _team(aconn)
        await an_asset(aconn, site=await a_site(aconn, code="rtm-02"), asset_id="pump-002")
        first = await open_preventive_order(aconn, alert=an_alert("pump-001"), alert_id=None, now=NOW)
        second = await open_preventive_order(aconn, alert=an_alert("pump-002"), alert_id=None, now=NOW)
        overheating = await open_preventive_order(
            aconn, alert=an_alert("pump-001", failure_mode="overheating"), alert_id=None, now=NOW
        )
    assert first.engineer_id == team["mid senior"]
    assert second.engineer_id == team["far expert"]  # the mid senior now carries one order (-8)
    assert overheating.engineer_id == team["electrician"]


@pytest.mark.asyncio
async def test_nobody_available_leaves_the_order_new(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        await an_asset(aconn, site=await a_site(aconn))
        await an_engineer(aconn, skills={"electrical": 3})
        opened = await open_preventive_order(aconn, alert=an_alert(ttf_hours=None), alert_id=None, now=NOW)
    assert opened.engineer_id is None and opened.notification_id is None and opened.dispatch is None
    assert opened.priority == "normal"
    order = await service.get(aconn, work_order_id=opened.work_order_id)
    assert order.status == "new"


def test_priority_follows_time_to_failure() -> None:
    ttf = an_alert(ttf_hours=10).time_to_failure
    assert priority_for(ttf) == "urgent"
    assert priority_for(an_alert(ttf_hours=48).time_to_failure) == "high"
    assert priority_for(an_alert(ttf_hours=200).time_to_failure) == "normal"
    assert priority_for(None) == "normal"


@pytest.mark.asyncio
async def test_publisher_delivers_to_the_engineer_over_mqtt(
    conn: psycopg.Connection, pool: AsyncConnectionPool, client: httpx.AsyncClient, mqtt_url: str
) -> None:
    _unique_engineer_ids(conn)
    broker = urlsplit(mqtt_url)
    host, port = broker.hostname or "127.0.0.1", broker.port or 1883
    async with pool.connection() as c, c.transaction():
        team = await _team(c)
    engineer_id = team["mid senior"]
    topic = f"fleetcare/engineers/{engineer_id}/orders"

    stop = asyncio.Event()
    async with aiomqtt.Client(host, port, identifier=f"test-{uuid.uuid4().hex[:8]}") as subscriber:
        await subscriber.subscribe(topic, qos=1)
        publisher = asyncio.create_task(
            run_publisher(pool, broker=BrokerAddress(host, port), stop=stop, client_id=f"pub-{uuid.uuid4().hex[:8]}")
        )
        try:
            async with pool.connection() as c, c.transaction():
                opened = await open_preventive_order(c, alert=an_alert(), alert_id=None, now=NOW)
            assert opened.engineer_id == engineer_id

            async with asyncio.timeout(10):
                message = await anext(aiter(subscriber.messages))
        finally:
            stop.set()
            await asyncio.wait_for(publisher, timeout=10)

    assert str(message.topic) == topic and message.qos == 1
    payload = json.loads(message.payload)
    assert payload["notification_id"] == opened.notification_id
    assert payload["work_order_id"] == opened.work_order_id
    assert payload["asset_id"] == "pump-001" and payload["site"]["code"] == "rtm-01"
    assert payload["failure_mode"] == "bearing_wear" and payload["priority"] == "urgent"
    assert payload["time_to_failure"]["hours"] == 18.0
    assert payload["evidence"]["score"] == 0.93 and payload["evidence"]["window_samples"] == 2

    sent_at = conn.execute("select sent_at from service.notifications where id = %s", (opened.notification_id,))
    assert sent_at.fetchone()[0] is not None

    mine = (await client.get(f"/engineers/{engineer_id}/work-orders")).json()
    assert [(o["id"], o["type"], o["status"]) for o in mine] == [(opened.work_order_id, "preventive", "assigned")]
    assert mine[0]["evidence"]["failure_mode"] == "bearing_wear"


@pytest.mark.asyncio
async def test_publisher_sends_what_was_queued_before_it_started_and_survives_no_broker(
    conn: psycopg.Connection, pool: AsyncConnectionPool, mqtt_url: str
) -> None:
    _unique_engineer_ids(conn)
    async with pool.connection() as c, c.transaction():
        ids = [
            await notifications.enqueue(c, topic=f"fleetcare/engineers/{n}/orders", payload={"n": n})
            for n in random.sample(range(10**6, 10**12), 3)
        ]

    stop = asyncio.Event()
    unreachable = asyncio.create_task(run_publisher(pool, broker=BrokerAddress("127.0.0.1", 1), stop=stop, client_id="x"))
    await asyncio.sleep(0.3)
    assert not unreachable.done()  # it keeps retrying instead of crashing
    stop.set()
    await asyncio.wait_for(unreachable, timeout=5)
    assert conn.execute("select count(*) from service.notifications where sent_at is null").fetchone()[0] == 3

    broker = urlsplit(mqtt_url)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_publisher(pool, broker=BrokerAddress(broker.hostname, broker.port or 1883), stop=stop,
                      client_id=f"pub-{uuid.uuid4().hex[:8]}")
    )
    try:
        async with asyncio.timeout(10):
            while conn.execute("select count(*) from service.notifications where sent_at is null").fetchone()[0]:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    sent = conn.execute("select id from service.notifications where sent_at is not null order by id").fetchall()
    assert [r[0] for r in sent] == ids


@pytest.mark.asyncio
async def test_unknown_asset_or_failure_mode_writes_nothing(aconn: psycopg.AsyncConnection) -> None:
    async with aconn.transaction():
        await an_asset(aconn, site=await a_site(aconn))
        with pytest.raises(NotFound, match="ghost"):
            await open_preventive_order(aconn, alert=an_alert("ghost"), alert_id=None, now=NOW)
        with pytest.raises(Unprocessable, match="rust"):
            await open_preventive_order(aconn, alert=an_alert(failure_mode="rust"), alert_id=None, now=NOW)
        # the caller's transaction is still usable
        assert await open_preventive_order(aconn, alert=an_alert(), alert_id=None, now=NOW) is not None
