"""``fleetcare gateway`` as an operator runs it: its startup line names the endpoint, which answers over HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from service_core.runtime.ports import free_port
from tests.prometheus_text import parse


@pytest.mark.e2e
def test_the_gateway_process_serves_health_and_metrics(db_url, mqtt_url, mqtt5, topic_root):
    port = free_port()
    env = {**os.environ, "FLEETCARE_DATABASE_URL": db_url, "FLEETCARE_MQTT_URL": mqtt_url,
           "FLEETCARE_TOPIC_ROOT": topic_root, "FLEETCARE_MQTT5": "1" if mqtt5 else "0",
           "FLEETCARE_GATEWAY_CLIENT_ID": f"gw-{uuid.uuid4().hex[:8]}", "FLEETCARE_GATEWAY_METRICS_PORT": str(port)}
    gateway = subprocess.Popen([sys.executable, "-m", "service_core.cli", "gateway"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        seen = []
        while not (line := gateway.stdout.readline()).startswith("gateway ") and line:  # "": it ended
            seen.append(line)
        assert f"metrics on http://127.0.0.1:{port}/metrics" in line, "".join(seen) + line + gateway.stdout.read()
        base = re.search(r"http://\S+?(?=/metrics)", line).group(0)
        deadline = time.monotonic() + 5
        while (health := httpx.get(f"{base}/health", timeout=2)).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)  # the endpoint opens before the worker has subscribed
        assert health.json() == {"status": "ok", "broker": "connected", "database": "ok"}
        families = parse(httpx.get(f"{base}/metrics", timeout=2).text)
        assert families["fleetcare_gateway_connected"].value() == 1
        assert families["fleetcare_db_pool_size"].value(pool="gateway") >= 1
    finally:
        gateway.send_signal(signal.SIGTERM)
        out, _ = gateway.communicate(timeout=30)
    assert gateway.returncode == 0, out
