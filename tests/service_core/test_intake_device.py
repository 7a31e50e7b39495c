"""Requests the equipment raises itself: device fault codes over the real broker, and the detector's alerts."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from gateway import store as dead_letters
from gateway.mqtt import BrokerAddress
from gateway.worker import Gateway, GatewayConfig
from maintenance import store as maintenance_store
from service_core.intake import service as intake_service
from service_core.intake.reports import priority_for_severity
from service_core.runtime.faults import FaultIntake
from service_core.workorders.flows import open_preventive_order
from tests.mqtt_tools import publish
from tests.service_core.builders import a_site, an_alert, an_asset


async def _wait(gateway: Gateway, messages: int) -> None:
    for _ in range(300):
        if gateway.stats.messages >= messages:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"gateway handled {gateway.stats.messages} of {messages} messages")


def _fault(ts: datetime, code: str, severity: str, message: str = "seal pressure low") -> str:
    return json.dumps({"ts": ts.isoformat(), "code": code, "severity": severity, "message": message})


@pytest.mark.asyncio
async def test_warning_and_critical_faults_become_requests_once(pool: AsyncConnectionPool, client, mqtt_url, mqtt5,
                                                                 topic_root):
    async with pool.connection() as conn:
        site = await a_site(conn, code="site-1")
        await an_asset(conn, site=site, asset_id="pump-001")
        await an_asset(conn, site=site, asset_id="pump-002")
    intake = FaultIntake(pool)
    gateway = Gateway(
        GatewayConfig(broker=BrokerAddress.parse(mqtt_url), client_id=f"gw-{uuid.uuid4().hex[:8]}",
                      topic_root=topic_root, batch_wait_s=0.02, mqtt5=mqtt5),
        pool, fault_processors=[intake],
    )
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.run(stop))
    try:
        for _ in range(200):
            if gateway.stats.connected:
                break
            await asyncio.sleep(0.025)
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
        base = f"{topic_root}/site-1"
        messages = [
            (f"{base}/pump-001/faults", _fault(at, "E-042", "critical")),
            (f"{base}/pump-001/faults", _fault(at + timedelta(seconds=1), "E-043", "warning", "still low")),
            (f"{base}/pump-002/faults", _fault(at, "I-001", "info", "filter due soon")),
            (f"{base}/pump-404/faults", _fault(at, "E-042", "critical")),
        ]
        await asyncio.to_thread(publish, mqtt_url, messages)
        await _wait(gateway, len(messages))
        await asyncio.to_thread(publish, mqtt_url, messages[:1])  # the device resends its critical fault
        await _wait(gateway, len(messages) + 1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)

    requests = (await client.get("/service-requests", params={"channel": "device"})).json()
    by_code = {r["fault_code"]: r for r in requests}
    assert sorted(by_code) == ["E-042", "E-043"]  # the info fault stays in telemetry; the resend added nothing
    first, second = by_code["E-042"], by_code["E-043"]
    assert first["status"] == "open" and first["asset_id"] == "pump-001" and first["priority"] == "urgent"
    assert first["subject"] == "Critical fault E-042: seal pressure low" and first["actor"] == "device:pump-001"
    # the second fault of the same asset joins the first request instead of opening another
    assert second["status"] == "duplicate" and second["duplicate_of"] == first["id"]
    assert intake.requests == 2
    original = (await client.get(f"/service-requests/{first['id']}/input")).json()
    assert original == {"asset_id": "pump-001", "ts": at.isoformat(), "code": "E-042", "severity": "critical",
                        "message": "seal pressure low"}
    async with pool.connection() as conn:
        reasons = [d.reason for d in await dead_letters.get_dead_letters(conn)]
    assert any("'pump-404' is unknown or not provisioned" in r for r in reasons)

    # triage keeps the device's fault code on the order
    triaged = await client.post(f"/service-requests/{first['id']}/triage", json={"type": "repair", "actor": "desk"})
    order = (await client.get(f"/work-orders/{triaged.json()['work_order_id']}")).json()
    assert order["fault_code"] == "E-042" and order["priority"] == "urgent"


def test_severity_suggests_the_priority():
    assert [priority_for_severity(s) for s in ("critical", "warning", "info")] == ["urgent", "high", "normal"]


@pytest.mark.asyncio
async def test_an_alert_records_a_triaged_request_and_a_customer_report_joins_its_order(pool, client):
    async with pool.connection() as conn, conn.transaction():
        await an_asset(conn, site=await a_site(conn), asset_id="pump-001")
        alert = an_alert()
        alert_id = await maintenance_store.record_alert(conn, alert)
        opened = await open_preventive_order(conn, alert=alert, alert_id=alert_id)
        # the same alert again opens nothing, so it records no second request either
        assert await open_preventive_order(conn, alert=alert, alert_id=alert_id) is None

    (request,) = (await client.get("/service-requests", params={"channel": "detector"})).json()
    assert request["status"] == "triaged" and request["work_order_id"] == opened.work_order_id
    assert request["priority"] == opened.priority and request["asset_id"] == "pump-001"
    assert "Probable bearing wear" in request["description"] and "vibration_rms_mm_s" in request["description"]
    evidence = (await client.get(f"/service-requests/{request['id']}/input")).json()
    assert evidence["score"] == 0.93 and evidence["failure_mode"] == "bearing_wear"

    call = await client.post("/service-requests", json={
        "asset_id": "pump-001", "subject": "Pump sounds rough", "description": "Grinding noise.",
        "reporter_name": "Jan", "actor": "desk:anna"})
    assert call.status_code == 201, call.text
    assert call.json()["status"] == "duplicate" and call.json()["work_order_id"] == opened.work_order_id
    order = (await client.get(f"/work-orders/{opened.work_order_id}")).json()
    assert [e["kind"] for e in order["events"]][-1] == "duplicate_linked"
    assert "Grinding noise." in order["events"][-1]["note"]
    async with pool.connection() as conn:
        assert len(await intake_service.get_all(conn, work_order_id=opened.work_order_id)) == 2
