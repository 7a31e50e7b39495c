"""The gateway's counters in Prometheus' text format: well-formed, and moving with what a real gateway handles."""

from __future__ import annotations

import asyncio
import doctest
import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import psycopg_pool
import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from gateway import prometheus
from gateway.mqtt import BrokerAddress
from gateway.stats import BATCH_SECONDS_BOUNDS, IngestStats
from gateway.worker import GatewayConfig
from tests.gateway.conftest import RunningGateway
from tests.mqtt_tools import publish
from tests.prometheus_text import parse

COUNTERS = ["messages", "samples", "rows_written", "dead_letters", "faults", "batches", "reconnects"]


def _sample(seq: int, ts: datetime, **metrics: float) -> str:
    return json.dumps({"ts": ts.isoformat().replace("+00:00", "Z"), "seq": seq, "metrics": metrics})


def _counters(text: str) -> dict[str, float]:
    families = parse(text)
    return {name: families[f"fleetcare_gateway_{name}_total"].value() for name in COUNTERS}


def test_the_format_module_examples():
    result = doctest.testmod(prometheus)
    assert result.attempted > 0 and result.failed == 0


def test_a_new_gateway_reports_every_family_at_zero_and_is_not_healthy_before_it_connects():
    stats = IngestStats()
    families = parse(stats.prometheus())
    assert {f.kind for f in families.values()} == {"counter", "gauge", "histogram"}
    assert set(_counters(stats.prometheus()).values()) == {0}
    for name in ("connected", "buffer_depth", "last_batch_seconds"):
        assert families[f"fleetcare_gateway_{name}"].kind == "gauge"
        assert families[f"fleetcare_gateway_{name}"].value() == 0
    assert families["fleetcare_gateway_batch_seconds"].value("_count") == 0
    assert stats.health() == (False, {"status": "degraded", "broker": "disconnected", "database": "ok"})


@given(st.lists(st.one_of(st.sampled_from(BATCH_SECONDS_BOUNDS), st.floats(0, 20, allow_nan=False)), max_size=50))
def test_each_batch_lands_in_every_bucket_whose_bound_it_does_not_exceed(seconds):
    stats = IngestStats()
    for s in seconds:
        stats.observe_batch(s)
    histogram = parse(stats.prometheus())["fleetcare_gateway_batch_seconds"]
    for bound in BATCH_SECONDS_BOUNDS:
        assert histogram.value("_bucket", le=repr(bound)) == sum(s <= bound for s in seconds)
    assert histogram.value("_bucket", le="+Inf") == histogram.value("_count") == len(seconds)
    assert histogram.value("_sum") == pytest.approx(sum(seconds))


def test_buffer_depth_is_the_batch_in_flight_and_what_waits_behind_it():
    stats = IngestStats(in_flight=40)
    assert stats.buffer_depth == 40
    waiting = [1, 2, 3]
    stats.queued = lambda: len(waiting)
    assert parse(stats.prometheus())["fleetcare_gateway_buffer_depth"].value() == 43


@pytest.mark.asyncio
async def test_counters_move_with_valid_and_invalid_messages_through_a_real_gateway(
    running_gateway, mqtt_url, topic_root
):
    stats = running_gateway.gateway.stats
    before = _counters(stats.prometheus())
    now = datetime.now(UTC).replace(microsecond=0)
    base = f"{topic_root}/site-1/"
    messages = [(base + "pump-001/telemetry", _sample(i, now - timedelta(seconds=5 - i), flow_m3h=120.0,
                                                      pressure_bar=6.0)) for i in range(3)]
    messages += [(base + "pump-002/telemetry", b'{"ts": 1, "metrics": {'),  # not JSON
                 (base + "pump-999/telemetry", _sample(1, now, flow_m3h=1.0))]  # not provisioned
    await asyncio.to_thread(publish, mqtt_url, messages)
    await running_gateway.wait_for(len(messages))

    families = parse(stats.prometheus())
    after = _counters(stats.prometheus())
    assert all(after[name] >= before[name] for name in COUNTERS), (before, after)
    assert after["messages"] == 5 and after["dead_letters"] == 2
    assert after["samples"] == 3 and after["rows_written"] == 6
    assert after["batches"] >= 1 and after["faults"] == 0
    assert families["fleetcare_gateway_connected"].value() == 1
    assert families["fleetcare_gateway_buffer_depth"].value() == 0  # all acknowledged
    assert families["fleetcare_gateway_batch_seconds"].value("_count") == after["batches"]
    assert 0 < families["fleetcare_gateway_last_batch_seconds"].value() < 5
    assert stats.health() == (True, {"status": "ok", "broker": "connected", "database": "ok"})


@pytest.mark.asyncio
async def test_a_failing_store_makes_the_gateway_unhealthy_and_its_messages_stay_in_the_buffer(
    provisioned, db_url, pg_server_url, mqtt_url, mqtt5, topic_root
):
    # a pool that gives up quickly, so the worker's retries (and the test) do not wait the default 30 s
    pool = psycopg_pool.AsyncConnectionPool(db_url, min_size=1, max_size=2, timeout=1.0, open=False)
    await pool.open(wait=True)
    config = GatewayConfig(broker=BrokerAddress.parse(mqtt_url), client_id=f"gw-{uuid.uuid4().hex[:8]}",
                           topic_root=topic_root, batch_wait_s=0.02, mqtt5=mqtt5)
    running = RunningGateway(pool, config)
    stats = (await running.start()).stats
    try:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(f'drop database "{conninfo_to_dict(db_url)["dbname"]}" with (force)')
        now = datetime.now(UTC).replace(microsecond=0)
        topic = f"{topic_root}/site-1/pump-001/telemetry"
        await asyncio.to_thread(publish, mqtt_url, [(topic, _sample(i, now, flow_m3h=1.0 + i)) for i in range(2)])
        for _ in range(60):
            if stats.store_error is not None:
                break
            await asyncio.sleep(0.05)
        healthy, report = stats.health()
        assert not healthy
        assert report["status"] == "degraded" and report["broker"] == "connected"
        error = report["database"].split(":")[0]  # e.g. AdminShutdown, then PoolTimeout while it retries
        assert issubclass(getattr(psycopg.errors, error, None) or getattr(psycopg_pool, error),
                          psycopg.OperationalError), report
        families = parse(stats.prometheus())
        assert families["fleetcare_gateway_buffer_depth"].value() == 2  # received, not acknowledged
        assert families["fleetcare_gateway_messages_total"].value() == 0
    finally:
        await running.stop()
        await pool.close()
