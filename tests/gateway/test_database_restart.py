"""PostgreSQL restarted under a stream of telemetry: the gateway keeps consuming into its disk spool, replays it
when the database is back, and loses nothing; with its spool full it stops acknowledging and the broker holds the
rest. A PostgreSQL server of the test's own (the embedded one) is stopped and started again on the same port."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
import pytest_asyncio
from psycopg_pool import AsyncConnectionPool

from gateway.mqtt import BrokerAddress
from gateway.worker import GatewayConfig
from service_core.runtime.embedded_postgres import EmbeddedPostgres
from service_core.schema import upgrade
from telemetry import store
from tests.gateway.conftest import RunningGateway

ASSET = "pump-001"
MESSAGES = 1500
RATE_HZ = 250.0


@pytest.fixture
def own_postgres():
    # not under pytest's private temporary directory: the server runs as the postgres user when the tests run as root
    home = Path(tempfile.mkdtemp(prefix="fleetcare-pg-"))
    home.chmod(0o755)
    server = EmbeddedPostgres(home, preferred_port=None)
    try:
        upgrade(server.start())
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest_asyncio.fixture
async def own_pool(own_postgres):
    pool = AsyncConnectionPool(own_postgres.url, min_size=1, max_size=4, open=False)
    await pool.open()
    async with pool.connection() as conn:
        await store.provision_device(conn, asset_id=ASSET, site_id="site-1", model="CP-200", expected_interval_s=1)
    yield pool
    await pool.close()


def _stream(url: str, topic: str, *, acked: list[int], first_seq: int = 0) -> None:
    """Publish MESSAGES samples at RATE_HZ (QoS 1), counting what the broker acknowledged."""
    address = BrokerAddress.parse(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:8]}")
    client.on_publish = lambda *_: acked.append(1)
    client.connect(address.host, address.port)
    client.loop_start()
    start = datetime.now(UTC) - timedelta(seconds=MESSAGES / RATE_HZ)  # all in the past when they arrive
    t0 = time.monotonic()
    for i in range(MESSAGES):
        time.sleep(max(0.0, t0 + i / RATE_HZ - time.monotonic()))
        body = {"ts": (start + timedelta(seconds=i / RATE_HZ)).isoformat(), "seq": first_seq + i,
                "metrics": {"flow_m3h": 100.0 + i % 7, "pressure_bar": 6.0}}
        client.publish(topic, json.dumps(body), qos=1)
    deadline = time.monotonic() + 30
    while len(acked) < MESSAGES and time.monotonic() < deadline:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()


async def _stored(url: str) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("select count(*), count(distinct seq) from telemetry.readings "
                                 "where asset_id = %s and metric = 'flow_m3h'", (ASSET,))
        return await cur.fetchone()


async def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.1)


async def _restart_under_stream(own_postgres, own_pool, mqtt_url, mqtt5, topic_root, spool_dir, max_bytes):
    config = GatewayConfig(
        broker=BrokerAddress.parse(mqtt_url), client_id=f"gw-{uuid.uuid4().hex[:8]}", topic_root=topic_root,
        mqtt5=mqtt5, batch_wait_s=0.02, spool_dir=spool_dir, spool_max_bytes=max_bytes, connect_timeout_s=0.5,
    )
    running = RunningGateway(own_pool, config)
    gateway = await running.start()
    acked: list[int] = []
    publisher = threading.Thread(target=_stream, args=(mqtt_url, f"{topic_root}/site-1/{ASSET}/telemetry"),
                                 kwargs={"acked": acked})
    publisher.start()
    try:
        await _wait(lambda: _true(gateway.stats.messages > 200), 20, "the stream did not start")
        port = own_postgres.port
        await asyncio.to_thread(own_postgres.stop)
        down_at = gateway.stats.messages
        await asyncio.sleep(2.5)  # a few hundred messages published meanwhile
        during = {"spooled": gateway.stats.spooled, "buffer": gateway.stats.buffer_depth,
                  "health": gateway.stats.health()}
        own_postgres.preferred_port = port
        await asyncio.to_thread(own_postgres.start)
        assert own_postgres.port == port
        await asyncio.to_thread(publisher.join, 60)
        await _wait(lambda: _done(own_postgres.url, gateway), 60, "the spool was not replayed")
        during["health after"] = gateway.stats.health()
        return down_at, during, gateway, acked
    finally:
        await running.stop()
        publisher.join(60)


async def _true(value: bool) -> bool:
    return value


async def _done(url: str, gateway) -> bool:
    try:
        count, distinct = await _stored(url)
    except psycopg.OperationalError:
        return False
    return distinct == MESSAGES and not (gateway.stats.spool and len(gateway.stats.spool))


@pytest.mark.asyncio
async def test_the_gateway_spools_while_postgresql_restarts_and_replays_every_message_once(
    own_postgres, own_pool, mqtt_url, mqtt5, topic_root, tmp_path
):
    down_at, during, gateway, acked = await _restart_under_stream(
        own_postgres, own_pool, mqtt_url, mqtt5, topic_root, tmp_path / "spool", 64 * 2**20
    )
    assert during["spooled"] > 100, during  # it kept consuming while the database was away...
    assert during["buffer"] < 200, during  # ...acknowledging what it spooled instead of holding it
    healthy, report = during["health"]
    assert not healthy and report["database"] != "ok"  # and said so
    assert gateway.stats.replayed == gateway.stats.spooled
    assert len(acked) == MESSAGES
    count, distinct = await _stored(own_postgres.url)
    assert count == distinct == MESSAGES  # every message stored, once
    assert during["health after"][0], during
    assert not list((tmp_path / "spool").iterdir())


@pytest.mark.asyncio
async def test_with_its_spool_full_the_gateway_leaves_the_rest_to_the_broker_and_still_loses_nothing(
    own_postgres, own_pool, mqtt_url, mqtt5, topic_root, tmp_path
):
    down_at, during, gateway, acked = await _restart_under_stream(
        own_postgres, own_pool, mqtt_url, mqtt5, topic_root, tmp_path / "spool", 4096  # room for a few batches
    )
    assert 0 < during["spooled"] < 200, during  # it spooled what fitted...
    assert during["buffer"] > 0, during  # ...then held the rest unacknowledged
    count, distinct = await _stored(own_postgres.url)
    assert count == distinct == MESSAGES
