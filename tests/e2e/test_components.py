"""Each component as its own process, against configured PostgreSQL and broker, as an operator runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import psycopg
import pytest

from service_core.db import create_pool
from service_core.runtime.demo import provision_fleet
from simulators.fleet import FleetConfig, plan


def _fleetcare(*args: str, env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "service_core.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_db_upgrade_gateway_and_simulate_run_as_separate_processes(db_url, mqtt_url, mqtt5, topic_root):
    env = {**os.environ, "FLEETCARE_DATABASE_URL": db_url, "FLEETCARE_MQTT_URL": mqtt_url,
           "FLEETCARE_TOPIC_ROOT": topic_root, "FLEETCARE_MQTT5": "1" if mqtt5 else "0",
           "FLEETCARE_GATEWAY_CLIENT_ID": f"gw-{uuid.uuid4().hex[:8]}"}
    upgrade = _fleetcare("db", "upgrade", env=env)
    out, _ = upgrade.communicate(timeout=60)
    assert upgrade.returncode == 0, out
    assert "applied 0 migration(s)" in out  # the test database is already migrated

    assets = plan(FleetConfig(host="127.0.0.1", port=1883, topic_root=topic_root, devices=3, rate_hz=5))
    pool = create_pool(db_url, max_size=2)
    await pool.open(wait=True)
    async with pool.connection() as conn, conn.transaction():
        await provision_fleet(conn, assets=assets)
    await pool.close()

    gateway = _fleetcare("gateway", env=env)
    try:
        time.sleep(2)
        simulate = _fleetcare("simulate", "--devices", "3", "--rate", "5", "--duration", "4", "--mqtt-url", mqtt_url,
                              "--topic-root", topic_root, env=env)
        out, _ = simulate.communicate(timeout=60)
        assert simulate.returncode == 0, out
        stored = 0
        for _ in range(50):
            with psycopg.connect(db_url) as conn:
                stored = conn.execute("select count(distinct (asset_id, ts)) from telemetry.readings").fetchone()[0]
            if stored >= 3 * 5 * 3:
                break
            time.sleep(0.2)
        assert stored >= 3 * 5 * 3, out
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway_out, _ = gateway.communicate(timeout=30)
    assert gateway.returncode == 0, gateway_out
    assert f"consuming {topic_root}/#" in gateway_out
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select count(*) from gateway.dead_letters").fetchone()[0] == 0
        devices = conn.execute("select count(*) from telemetry.devices where last_seen is not null").fetchone()[0]
    assert devices == 3


def test_components_refuse_to_start_without_their_services(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETCARE_")}
    gateway = _fleetcare("gateway", env=env)
    out, _ = gateway.communicate(timeout=30)
    assert gateway.returncode == 2
    assert "set FLEETCARE_DATABASE_URL" in out and "set FLEETCARE_MQTT_URL" in out
    bad = _fleetcare("db", "upgrade", env={**env, "FLEETCARE_DATABASE_URL": "mysql://x"})
    out, _ = bad.communicate(timeout=30)
    assert bad.returncode == 2 and "must be a postgresql://" in out
