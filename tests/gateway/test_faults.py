"""Device fault codes through the real broker: stored once, passed on, bad ones dead-lettered with the reason."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import store as dead_letters
from gateway.errors import PayloadRejected
from gateway.mqtt import BrokerAddress
from gateway.payloads import parse_fault
from gateway.worker import GatewayConfig
from telemetry import store
from tests.gateway.conftest import RunningGateway
from tests.mqtt_tools import publish

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def faulting_gateway(pool, provisioned, mqtt_url, mqtt5, topic_root):
    """A gateway whose fault processor records what it is handed."""
    handed: list = []

    async def processor(faults):
        handed.extend(faults)

    config = GatewayConfig(broker=BrokerAddress.parse(mqtt_url), client_id=f"gw-{uuid.uuid4().hex[:8]}",
                           topic_root=topic_root, batch_wait_s=0.02, mqtt5=mqtt5)
    running = RunningGateway(pool, config, fault_processors=[processor])
    await running.start()
    yield running, handed
    await running.stop()


def _fault(ts, code="E-042", severity="warning", **extra) -> str:
    return json.dumps({"ts": ts, "code": code, "severity": severity, "message": "seal pressure low"} | extra)


@pytest.mark.asyncio
async def test_a_fault_is_stored_once_and_handed_on(faulting_gateway, pool, mqtt_url, topic_root):
    running, handed = faulting_gateway
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    topic = f"{topic_root}/site-1/pump-001/faults"
    messages = [(topic, _fault(at.isoformat())), (topic, _fault(int(at.timestamp() * 1000), code="E-7",
                                                                severity="info"))]
    await asyncio.to_thread(publish, mqtt_url, messages)
    await running.wait_for(2)
    # the device sends the first one again: nothing new is stored, the processor sees it again (idempotent)
    await asyncio.to_thread(publish, mqtt_url, messages[:1])
    await running.wait_for(3)

    async with pool.connection() as conn:
        stored = await store.get_faults(conn, asset_id="pump-001")
    assert sorted((f.code, f.severity, f.ts) for f in stored) == [("E-042", "warning", at), ("E-7", "info", at)]
    assert stored[0].message == "seal pressure low"
    assert [f.code for f in handed].count("E-042") == 2 and running.gateway.stats.faults == 3


BAD = {
    "bad severity": (_fault("2026-01-01T00:00:00Z", severity="panic"), "severity: Input should be 'info'"),
    "no code": (json.dumps({"ts": "2026-01-01T00:00:00Z", "severity": "warning"}), "code: Field required"),
    "bad code": (_fault("2026-01-01T00:00:00Z", code="E 42!"), "code: String should match pattern"),
    "naive ts": (_fault("2026-01-01T00:00:00"), "ts must carry a time zone"),
    "future": (_fault("2099-01-01T00:00:00Z"), "in the future"),
    "other asset": (_fault("2026-01-01T00:00:00Z", asset_id="pump-002"), "body names asset 'pump-002'"),
    "not JSON": ("E-042 warning", "invalid JSON"),
    "ts out of range": (_fault(10**20), "out of range for epoch milliseconds"),
    "code ending in a newline": (_fault("2026-01-01T00:00:00Z", code="E-042\n"), "code: String should match pattern"),
    "NUL in the message": (_fault("2026-01-01T00:00:00Z", message="seal\0pressure"),
                           "message: Value error, a NUL character cannot be stored"),
    "NUL in a field name": (_fault("2026-01-01T00:00:00Z", **{"\0": 1}), r"'\x00': Extra inputs are not permitted"),
}


@pytest.mark.asyncio
async def test_bad_faults_are_dead_lettered_with_reasons(faulting_gateway, pool, mqtt_url, topic_root):
    running, handed = faulting_gateway
    base = f"{topic_root}/site-1/pump-001/faults"
    messages = [(base, body) for body, _ in BAD.values()]
    messages.append((f"{topic_root}/site-1/pump-999/faults", _fault("2026-01-01T00:00:00Z")))
    await asyncio.to_thread(publish, mqtt_url, messages)
    await running.wait_for(len(messages))
    async with pool.connection() as conn:
        reasons = [letter.reason for letter in await dead_letters.get_dead_letters(conn)]
        assert await store.get_faults(conn) == []
    for name, (_, expected) in BAD.items():
        assert any(expected in r for r in reasons), f"{name}: no dead letter says {expected!r} in {reasons}"
    assert any("'pump-999' is unknown or not provisioned" in r for r in reasons)
    assert len(reasons) == len(messages) and handed == []


def test_parse_fault_reads_epoch_milliseconds_and_iso():
    iso = parse_fault("pump-001", _fault("2026-03-04T11:00:00+01:00").encode(), now=NOW)
    epoch = parse_fault("pump-001", _fault(int(NOW.timestamp() * 1000)).encode(), now=NOW)
    assert iso.ts == epoch.ts == NOW and iso.severity == "warning" and iso.asset_id == "pump-001"
    for huge in (10**20, -(10**20), 1e308):
        with pytest.raises(PayloadRejected, match="out of range"):
            parse_fault("pump-001", _fault(huge).encode(), now=NOW)
    with pytest.raises(PayloadRejected, match="exceeds"):
        parse_fault("pump-001", _fault("2026-01-01T00:00:00Z", message="x" * 9000).encode(), now=NOW)


_FIELDS = st.sampled_from(["ts", "code", "severity", "message", "asset_id", "x", "\0", ""]) | st.text(max_size=5)
_VALUES = st.none() | st.integers() | st.text(max_size=40) | st.booleans() | st.sampled_from(
    ["warning", "E-1", "E-1\n", "seal\0pressure", "2026-03-04T09:00:00Z"])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.dictionaries(_FIELDS, _VALUES).map(lambda d: json.dumps(d).encode()))
def test_any_fault_body_is_a_fault_the_database_can_store_or_rejected_with_a_storable_reason(body):
    try:
        fault = parse_fault("pump-001", body, now=NOW)
    except PayloadRejected as exc:
        assert exc.reason.strip() and exc.reason.isprintable(), exc.reason  # no NUL, one line
    else:
        assert fault.severity in ("info", "warning", "critical") and fault.ts.tzinfo is not None
        assert re.fullmatch(r"[A-Za-z0-9_.:\-]{1,32}", fault.code)
        assert fault.message is None or "\0" not in fault.message
